package subgate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
)

// A range too long is refused on "to" with a message that still reads
// well when a dialect renames the field (NetNut's dateRange).
func TestUsageQueryTooLongReadsWell(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := subgate.UsageQuery{From: from, To: from.AddDate(2, 0, 0)}
	err := q.Validate()
	msg := subgate.ErrorMessage(err)
	if subgate.ErrorField(err) != "to" || !strings.HasPrefix(msg, "to ") || strings.Contains(msg, "range") {
		t.Fatalf("err = %v; want an invalid to whose message names no second field", err)
	}
}
