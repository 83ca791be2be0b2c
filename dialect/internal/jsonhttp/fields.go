package jsonhttp

import (
	"strings"

	"github.com/subgate/subgate"
)

// Rename translates the field of a domain error into a dialect's own field
// name, and the field name the message starts with along with it, so a
// client reads "user_name must be…" where the domain said "username must be…".
// Fields without an entry in names are kept.
func Rename(err error, names map[string]string) (field, message string) {
	field, message = subgate.ErrorField(err), subgate.ErrorMessage(err)
	to, ok := names[field]
	if !ok || field == "" {
		return field, message
	}
	if rest, found := strings.CutPrefix(message, field); found {
		message = to + rest
	}
	return to, message
}
