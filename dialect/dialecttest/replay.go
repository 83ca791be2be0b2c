package dialecttest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// Recorded is a sequence of requests as a public client sends them (method,
// path, headers and body shape), kept as JSON under a dialect's testdata.
type Recorded struct {
	Source   string // which client, described
	Requests []struct {
		Name    string
		Method  string
		Path    string
		Headers map[string]string
		Body    json.RawMessage
	}
}

// Replay sends the requests of a recorded client in order to the dialect
// mounted at prefix, with the placeholders ({token}, {subuser_hash}, …)
// replaced by vars (a value "#N" replaces a quoted placeholder by the number
// N), and hands each answer to check, which may add vars for the requests
// that follow.
func (e *Env) Replay(t *testing.T, prefix, file string, vars map[string]string, check func(name string, resp Response)) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rec Recorded
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	subst := func(s string) string {
		for k, v := range vars {
			if n, ok := strings.CutPrefix(v, "#"); ok {
				s = strings.ReplaceAll(s, `"{`+k+`}"`, n)
			}
			s = strings.ReplaceAll(s, "{"+k+"}", v)
		}
		return s
	}
	for _, req := range rec.Requests {
		var headers []string
		for k, v := range req.Headers {
			headers = append(headers, k, subst(v))
		}
		body := ""
		if len(req.Body) > 0 {
			body = subst(string(req.Body))
		}
		check(req.Name, e.Do(t, req.Method, e.URL(prefix, subst(req.Path)), body, headers...))
	}
}
