package subgate_test

import (
	"math"
	"testing"

	"github.com/subgate/subgate"
)

// TestSumsOverProductsFitInt64: with every holding at most MaxBytes, a
// sub-user's totals over all products cannot overflow.
func TestSumsOverProductsFitInt64(t *testing.T) {
	if subgate.MaxBytes > math.MaxInt64/int64(len(subgate.Products)) {
		t.Fatalf("%d products of %d bytes each overflow int64", len(subgate.Products), subgate.MaxBytes)
	}
}

func TestCheckHeld(t *testing.T) {
	if err := subgate.CheckHeld(subgate.ProductResidential, subgate.MaxBytes-5, 5); err != nil {
		t.Fatalf("credit up to the maximum: %v", err)
	}
	err := subgate.CheckHeld(subgate.ProductResidential, subgate.MaxBytes-5, 6)
	if subgate.ErrorCode(err) != subgate.EINVALID || subgate.ErrorField(err) != "bytes" {
		t.Fatalf("credit past the maximum: %v", err)
	}
}
