package api_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// benchEnv is newEnv for benchmarks: one reseller with a sub-user.
func benchEnv(b *testing.B) (*env, string, subUser) {
	e := newEnv(b)
	_, tok := e.reseller("acme", 1_000_000_000_000)
	u := e.createSubUser(tok, "alice", 1_000_000)
	return e, tok, u
}

func BenchmarkGetSubUser(b *testing.B) {
	e, tok, u := benchEnv(b)
	benchRequests(b, e, tok, "GET", "/v1/subusers/"+u.Hash, func(int) string { return "" })
}

func BenchmarkGive(b *testing.B) {
	e, tok, u := benchEnv(b)
	benchRequests(b, e, tok, "POST", "/v1/subusers/"+u.Hash+"/give", func(int) string { return `{"product":"res","bytes":1000}` })
}

func BenchmarkListSubUsers(b *testing.B) {
	e, tok, _ := benchEnv(b)
	for i := range 200 {
		e.createSubUser(tok, fmt.Sprintf("user_%d", i), 0)
	}
	benchRequests(b, e, tok, "GET", "/v1/subusers?per_page=50&sort=used&order=desc", func(int) string { return "" })
}

func benchRequests(b *testing.B, e *env, tok, method, path string, body func(int) string) {
	client := &http.Client{}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body(i)))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
