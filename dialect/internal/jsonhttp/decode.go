// Package jsonhttp holds the HTTP plumbing the provider dialects share:
// decoding JSON bodies into field-specific domain errors, writing JSON,
// answering unknown routes and wrong methods, and turning panics into a
// dialect's own error envelope. It knows nothing of any provider.
package jsonhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"

	"github.com/subgate/subgate"
)

// MaxBody bounds a request body; every dialect request is a small object.
const MaxBody = 1 << 20

// Decode reads a JSON object (or URL-encoded form data, see formToJSON) from
// the request body into dst (a pointer to a struct). An empty body decodes as {} so endpoints whose fields are all
// optional accept it. Unknown fields are ignored, as the providers do. Every
// problem comes back as an EINVALID domain error naming the field (by its
// JSON name) when there is one.
func Decode(r *http.Request, dst any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return subgate.Invalidf("body", "could not be read")
	}
	// curl -d labels a JSON body as a form unless told otherwise; no form
	// starts with '{', so such a body is read as the JSON it is.
	if isForm(r) && len(body) <= MaxBody && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		if body, err = formToJSON(body); err != nil {
			return err
		}
	}
	return DecodeBytes(body, dst)
}

// DecodeBytes is Decode for a body already read.
func DecodeBytes(body []byte, dst any) error {
	if len(body) > MaxBody {
		return subgate.Invalidf("body", "is larger than %d bytes", MaxBody)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return subgate.Invalidf("body", "must be a JSON object")
	}
	if !json.Valid(body) {
		// Providers' own examples carry trailing commas ("traffic": 10.0, })
		// and their servers accept them; so do we.
		body = dropTrailingCommas(body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return subgate.Invalidf("body", "must hold a single JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var fieldErr *subgate.Error
	switch {
	case errors.As(err, &fieldErr):
		return fieldErr
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return subgate.Invalidf(typeErr.Field, "must be %s", kindName(typeErr.Type))
	}
	return subgate.Invalidf("body", "is not valid JSON")
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[Number]() {
		return "a number"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}

// dropTrailingCommas removes commas that directly precede a closing brace
// or bracket (whitespace aside), outside strings.
func dropTrailingCommas(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ',':
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j < len(b) && (b[j] == '}' || b[j] == ']') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}
