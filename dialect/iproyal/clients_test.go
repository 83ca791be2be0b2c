package iproyal_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/subgate/subgate/dialect/dialecttest"
)

// recorded is a sequence of requests as a public client sends them (method,
// path, headers and body shape), kept under testdata/clients.
type recorded struct {
	Source   string
	Requests []struct {
		Name    string
		Method  string
		Path    string
		Headers map[string]string
		Body    json.RawMessage
	}
}

// replay sends the requests of a recorded client in order, with the
// placeholders ({token}, {subuser_hash}, …) replaced by vars, and hands each
// answer to check, which may add vars for the requests that follow.
func replay(t *testing.T, env *dialecttest.Env, file string, vars map[string]string, check func(name string, resp dialecttest.Response)) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorded
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	subst := func(s string) string {
		for k, v := range vars {
			if strings.HasPrefix(v, "#") { // a number: replaces the quoted placeholder
				s = strings.ReplaceAll(s, `"{`+k+`}"`, v[1:])
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
		check(req.Name, env.Do(t, req.Method, env.URL(dialecttest.IPRoyal, subst(req.Path)), body, headers...))
	}
}
