-- Each write transaction adds a small segment to the trigram index; merging
-- them only once 16 pile up on a level makes sub-user creates much cheaper
-- at a negligible cost to searches.
INSERT INTO subusers_fts (subusers_fts, rank) VALUES ('automerge', 16);
