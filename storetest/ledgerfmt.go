package storetest

import (
	"fmt"
	"strings"

	"github.com/subgate/subgate"
)

func fmtLedger(l []*subgate.LedgerEntry) string {
	parts := make([]string, len(l))
	for i, x := range l {
		parts[i] = fmt.Sprintf("#%d %s %s %d u%d %q", x.ID, x.Kind, x.Product, x.Bytes, x.SubUserID, x.IdempotencyKey)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}
