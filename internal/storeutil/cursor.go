package storeutil

import (
	"encoding/base64"
	"encoding/json"

	"github.com/subgate/subgate"
)

// Cursor is the keyset position after the last row of a list page: the sort
// value of that row and its id. It carries the order it was made for, so a
// cursor of another order is refused rather than misread.
type Cursor struct {
	Sort subgate.SubUserSort `json:"s"`
	Desc bool                `json:"d,omitempty"`
	N    int64               `json:"n,omitempty"` // numeric sort values
	T    string              `json:"t,omitempty"` // text sort values
	ID   int64               `json:"i"`
}

// CursorAfter is the cursor after u in f's order. The created-at order is
// left to the store, which alone knows how its column holds time.
func CursorAfter(u *subgate.SubUser, f subgate.SubUserFilter) Cursor {
	c := Cursor{Sort: f.Sort, Desc: f.Desc, ID: u.ID}
	switch f.Sort {
	case subgate.SortUsername:
		c.T = u.Username
	case subgate.SortStatus:
		c.T = string(u.Status)
	case subgate.SortUsed:
		c.N = u.TotalUsed()
	case subgate.SortAvailable:
		c.N = u.TotalAvailable()
	case subgate.SortUsageCap:
		c.N = u.Limits.UsageCap
	case subgate.SortIPCap:
		c.N = u.Limits.IPUsageCap
	case subgate.SortIPUsed:
		c.N = u.Usage.IPsUsed
	}
	return c
}

// Encode is the cursor as an opaque URL-safe token.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a token made by Encode for f's order; anything else is
// an invalid "after".
func DecodeCursor(s string, f subgate.SubUserFilter) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Sort != f.Sort || c.Desc != f.Desc {
		return c, subgate.Invalidf("after", "is not a cursor of this list order")
	}
	return c, nil
}
