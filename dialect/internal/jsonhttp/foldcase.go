package jsonhttp

import (
	"net/http"
	"strings"
)

// FoldCase serves paths whose fixed segments differ from the routes' only in
// case ("/allocateips" for "/allocateIps"), as providers whose servers match
// paths case-insensitively do. words are the routes' fixed segments; a
// segment equal to one of them but for case is rewritten to it, every other
// segment (ids, hashes) is left alone.
func FoldCase(next http.Handler, words ...string) http.Handler {
	canonical := make(map[string]string, len(words))
	for _, w := range words {
		canonical[strings.ToLower(w)] = w
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs := strings.Split(r.URL.Path, "/")
		changed := false
		for i, s := range segs {
			if c, ok := canonical[strings.ToLower(s)]; ok && c != s {
				segs[i], changed = c, true
			}
		}
		if changed {
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = strings.Join(segs, "/"), ""
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}
