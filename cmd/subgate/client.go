package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client talks to the native API of a running subgate.
type client struct {
	baseURL string
	token   string
	output  string // table or json
	idemKey string // sent as Idempotency-Key on writes when set
	http    *http.Client
	out     io.Writer
}

// clientFlags adds the flags every API command shares.
type clientFlags struct {
	apiURL, token, output string
}

func (a *app) addClientFlags(fs *flag.FlagSet) *clientFlags {
	cf := &clientFlags{}
	fs.StringVar(&cf.apiURL, "api-url", "", "API base URL (env SUBGATE_API_URL, default http://127.0.0.1:8080)")
	fs.StringVar(&cf.token, "token", "", "API token, admin or reseller (env SUBGATE_TOKEN)")
	fs.StringVar(&cf.output, "output", "table", "output format: table or json")
	return cf
}

func (a *app) newClient(cf *clientFlags) (*client, error) {
	c := &client{
		baseURL: firstNonEmpty(cf.apiURL, a.getenv("SUBGATE_API_URL"), "http://127.0.0.1:8080"),
		token:   firstNonEmpty(cf.token, a.getenv("SUBGATE_TOKEN")),
		output:  cf.output,
		http:    &http.Client{Timeout: 60 * time.Second},
		out:     a.stdout,
	}
	if c.output != "table" && c.output != "json" {
		return nil, fmt.Errorf("--output must be table or json, not %q", c.output)
	}
	if c.token == "" {
		return nil, fmt.Errorf("no API token: pass --token or set SUBGATE_TOKEN")
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	return c, nil
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%s (HTTP %d, %s)", e.Message, e.Status, e.Code)
	if e.Field != "" {
		msg += " [field " + e.Field + "]"
	}
	return msg
}

// do sends a request and decodes a JSON answer into out (when not nil). It
// returns the raw body for --output json.
func (c *client) do(ctx context.Context, method, path string, query url.Values, in, out any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.idemKey != "" && method != http.MethodGet {
		req.Header.Set("Idempotency-Key", c.idemKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		var env struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(raw, &env) != nil || env.Error.Code == "" {
			return nil, fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
		env.Error.Status = resp.StatusCode
		return nil, &env.Error
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("decoding answer of %s %s: %w", method, path, err)
		}
	}
	return raw, nil
}

// withKey returns a copy of c that sends key as Idempotency-Key.
func (c *client) withKey(key string) *client {
	cp := *c
	cp.idemKey = key
	return &cp
}

// printJSON writes an API answer indented.
func (c *client) printJSON(raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := c.out.Write(buf.Bytes())
	return err
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
