// Package storeutil holds the mechanics the SQL stores share that do not
// depend on an SQL dialect: list cursors and embedded migration files. The
// SQL itself stays in each store.
package storeutil
