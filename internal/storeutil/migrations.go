package storeutil

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered SQL file, NNN_name.sql.
type Migration struct {
	Version int
	File    string // the whole file name, 001_init.sql
	Name    string // the name after the number, init
	SQL     string
}

// Migrations reads the NNN_name.sql files of dir in fsys, in version order.
// A file named otherwise, or two files sharing a number, is an error.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		file := e.Name()
		num, name, ok := strings.Cut(strings.TrimSuffix(file, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(file, ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", file)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share number %d", prev, file, v)
		}
		seen[v] = file
		body, err := fs.ReadFile(fsys, path.Join(dir, file))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, File: file, Name: name, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// CheckApplied names the first of ms missing from applied, the versions a
// database records: a store whose schema lags behind this build is not
// ready to serve.
func CheckApplied(ms []Migration, applied []int) error {
	have := make(map[int]bool, len(applied))
	for _, v := range applied {
		have[v] = true
	}
	for _, m := range ms {
		if !have[m.Version] {
			return fmt.Errorf("migration %03d_%s is not applied", m.Version, m.Name)
		}
	}
	return nil
}
