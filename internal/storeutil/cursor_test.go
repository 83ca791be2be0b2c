package storeutil_test

import (
	"testing"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/internal/storeutil"
)

func TestCursorRoundTrip(t *testing.T) {
	f := subgate.SubUserFilter{Sort: subgate.SortUsername, Desc: true}
	u := &subgate.SubUser{ID: 42, Username: "alice"}
	c := storeutil.CursorAfter(u, f)
	got, err := storeutil.DecodeCursor(c.Encode(), f)
	if err != nil {
		t.Fatal(err)
	}
	if got != c || got.T != "alice" || got.ID != 42 {
		t.Fatalf("decoded %+v, want %+v", got, c)
	}
}

func TestCursorOfAnotherOrderIsInvalid(t *testing.T) {
	f := subgate.SubUserFilter{Sort: subgate.SortUsername}
	token := storeutil.CursorAfter(&subgate.SubUser{ID: 1}, f).Encode()
	for _, other := range []subgate.SubUserFilter{
		{Sort: subgate.SortUsername, Desc: true},
		{Sort: subgate.SortID},
	} {
		if _, err := storeutil.DecodeCursor(token, other); subgate.ErrorField(err) != "after" {
			t.Errorf("order %+v: err %v, want invalid after", other, err)
		}
	}
	if _, err := storeutil.DecodeCursor("not a cursor", f); subgate.ErrorField(err) != "after" {
		t.Errorf("garbage: err %v, want invalid after", err)
	}
}
