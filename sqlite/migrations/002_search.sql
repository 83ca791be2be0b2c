-- Trigram index over the searchable text so rare substrings are found
-- without scanning every sub-user. Kept in step by triggers.
CREATE VIRTUAL TABLE subusers_fts USING fts5 (
	username, name, note,
	content = 'subusers', content_rowid = 'id',
	tokenize = 'trigram'
);

CREATE TRIGGER subusers_fts_insert AFTER INSERT ON subusers BEGIN
	INSERT INTO subusers_fts (rowid, username, name, note) VALUES (new.id, new.username, new.name, new.note);
END;

CREATE TRIGGER subusers_fts_update AFTER UPDATE OF username, name, note ON subusers BEGIN
	INSERT INTO subusers_fts (subusers_fts, rowid, username, name, note) VALUES ('delete', old.id, old.username, old.name, old.note);
	INSERT INTO subusers_fts (rowid, username, name, note) VALUES (new.id, new.username, new.name, new.note);
END;

CREATE TRIGGER subusers_fts_delete AFTER DELETE ON subusers BEGIN
	INSERT INTO subusers_fts (subusers_fts, rowid, username, name, note) VALUES ('delete', old.id, old.username, old.name, old.note);
END;
