package jsonhttp

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/subgate/subgate"
)

// isForm reports whether a request body is URL-encoded form data, which
// Laravel-style APIs accept beside JSON and which PHP and Python scripts
// often send.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// formToJSON turns a form into the JSON object it stands for, with PHP's
// bracket nesting: limits[daily_limit]=5 is {"limits":{"daily_limit":"5"}}
// and ids[]=1&ids[]=2 is {"ids":["1","2"]}. Values stay strings; Number
// fields accept numeric strings.
func formToJSON(body []byte) ([]byte, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, subgate.Invalidf("body", "is not valid form data")
	}
	root := map[string]any{}
	for key, vs := range vals {
		if err := setFormValue(root, formPath(key), vs); err != nil {
			return nil, err
		}
	}
	return json.Marshal(root)
}

// formPath splits "a[b][c]" into a, b, c and "a[]" into a, "".
func formPath(key string) []string {
	name, rest, ok := strings.Cut(key, "[")
	if !ok || name == "" || !strings.HasSuffix(rest, "]") {
		return []string{key}
	}
	return append([]string{name}, strings.Split(strings.TrimSuffix(rest, "]"), "][")...)
}

func setFormValue(node map[string]any, path []string, vs []string) error {
	for i, key := range path {
		last := i == len(path)-1
		if !last && path[i+1] == "" && i+1 == len(path)-1 {
			node[key] = vs // key[] collects every value
			return nil
		}
		if last {
			node[key] = vs[len(vs)-1] // a repeated plain key: the last wins
			return nil
		}
		child, ok := node[key].(map[string]any)
		if !ok {
			if _, taken := node[key]; taken {
				return subgate.Invalidf(strings.Join(path[:i+1], "."), "is given both as a value and as a group")
			}
			child = map[string]any{}
			node[key] = child
		}
		node = child
	}
	return nil
}
