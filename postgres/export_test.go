package postgres

// SetSearchWindow sets how many rows a search walks before it judges how
// common its term is, and how many matches the trigram index may serve,
// until the returned function restores them.
func SetSearchWindow(window int, indexRows int64) (restore func()) {
	w, r := searchWindow, searchIndexRows
	searchWindow, searchIndexRows = window, indexRows
	return func() { searchWindow, searchIndexRows = w, r }
}

// MigrationLockKey is the advisory lock key migrations take.
const MigrationLockKey = migrationLockKey
