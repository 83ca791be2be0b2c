package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/subgate/subgate"
	"github.com/subgate/subgate/secret"
)

// TestSearchStrategiesAgree checks that every way of finding search matches
// (ids from the trigram index, walking the trigram index in id order, and
// filtering while walking a sort index, with or without the set of index
// hits) returns exactly the rows a plain substring test selects, page after
// page.
func TestSearchStrategiesAgree(t *testing.T) {
	c, err := secret.New(bytes.Repeat([]byte{9}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(t.TempDir(), "search.db"), c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	big, small := &subgate.Reseller{Name: "big"}, &subgate.Reseller{Name: "small"}
	for _, r := range []*subgate.Reseller{big, small} {
		if err := s.CreateReseller(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: "res", Bytes: 1e12}); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"Alice", "alina", "Bob_x", "CELINE", "Marco Polo", "li"}
	var all []*subgate.SubUser
	for i := range 100 {
		r := big
		if i%5 == 0 {
			r = small
		}
		u := &subgate.SubUser{ResellerID: r.ID, Username: fmt.Sprintf("user_%03d", i), Password: "pw12345",
			Name: names[i%len(names)], Note: []string{"", "vip", "ce_x 100%"}[i%3], Status: subgate.StatusActive}
		if err := s.CreateSubUser(ctx, u, map[subgate.Product]int64{"res": int64(1 + i*7%23)}, ""); err != nil {
			t.Fatal(err)
		}
		if i%11 == 0 {
			if err := s.DeleteSubUser(ctx, 0, u.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			continue
		}
		all = append(all, u)
	}
	terms := []string{"user", "ali", "ce_", "LI", "0%", "zzz", "marco polo"}
	sorts := []struct {
		sort subgate.SubUserSort
		desc bool
	}{{subgate.SortID, false}, {subgate.SortID, true}, {subgate.SortAvailable, true}}
	scopes := []subgate.Scope{0, subgate.Scope(big.ID), subgate.Scope(small.ID)}
	strategies := []struct {
		rare     int
		matchSet float64
	}{{3, 0}, {3, 1e9}, {1_000_000, 0}}
	for _, st := range strategies {
		rare := st.rare
		s.rareMatches, s.matchSetRatio = st.rare, st.matchSet
		for _, term := range terms {
			for _, so := range sorts {
				for _, scope := range scopes {
					want := expectSearch(all, scope, term, so.sort, so.desc)
					f := subgate.SubUserFilter{Scope: scope, Search: term, Sort: so.sort, Desc: so.desc, Limit: 15, WithTotal: true}
					var got []int64
					for pages := 0; pages < 50; pages++ {
						page, err := s.SubUsers(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						if page.Total != int64(len(want)) {
							t.Fatalf("rare=%d %q %v scope %d: total %d, want %d", rare, term, so, scope, page.Total, len(want))
						}
						for _, u := range page.Items {
							got = append(got, u.ID)
						}
						if f.After = page.Next; f.After == "" {
							break
						}
					}
					if !slices.Equal(got, want) {
						t.Fatalf("rare=%d %q %v scope %d:\n got %v\nwant %v", rare, term, so, scope, got, want)
					}
				}
			}
		}
	}
}

func expectSearch(all []*subgate.SubUser, scope subgate.Scope, term string, sort subgate.SubUserSort, desc bool) []int64 {
	term = strings.ToLower(term)
	var m []*subgate.SubUser
	for _, u := range all {
		text := strings.ToLower(u.Username + "\x00" + u.Name + "\x00" + u.Note)
		if (scope == 0 || u.ResellerID == int64(scope)) && strings.Contains(text, term) {
			m = append(m, u)
		}
	}
	key := func(u *subgate.SubUser) string {
		switch sort {
		case subgate.SortAvailable:
			return fmt.Sprintf("%020d", u.TotalAvailable())
		case subgate.SortUsername:
			return u.Username
		}
		return ""
	}
	slices.SortFunc(m, func(a, b *subgate.SubUser) int {
		c := strings.Compare(key(a), key(b))
		if c == 0 {
			c = int(a.ID - b.ID)
		}
		if desc {
			return -c
		}
		return c
	})
	ids := make([]int64, len(m))
	for i, u := range m {
		ids[i] = u.ID
	}
	return ids
}

func TestTrigramCover(t *testing.T) {
	for term, want := range map[string]string{
		"abc":        `"abc"`,
		"juniper":    `"jun" "ipe" "per"`,
		"abcdef":     `"abc" "def"`,
		`a"bcd`:      `"a""b" "bcd"`,
		"çàéü":       `"çàé" "àéü"`,
		"marco polo": `"mar" "co " "pol" "olo"`,
	} {
		if got := ftsTrigramCover(term); got != want {
			t.Errorf("ftsTrigramCover(%q) = %s, want %s", term, got, want)
		}
	}
}

// Listing a status by its ids (when rare) or by walking the sort index
// returns the same rows in the same order, page after page.
func TestStatusStrategiesAgree(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "status.db"))
	ctx := context.Background()
	r := &subgate.Reseller{Name: "r"}
	if err := s.CreateReseller(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreditPool(ctx, subgate.PoolCredit{ResellerID: r.ID, Product: "res", Bytes: 1e12}); err != nil {
		t.Fatal(err)
	}
	var disabled []*subgate.SubUser
	for i := range 60 {
		u := &subgate.SubUser{ResellerID: r.ID, Username: fmt.Sprintf("user_%03d", 60-i), Password: "pw12345", Status: subgate.StatusActive}
		if i%7 == 3 {
			u.Status = subgate.StatusDisabled
		}
		if err := s.CreateSubUser(ctx, u, map[subgate.Product]int64{"res": int64(1 + i*7%5)}, ""); err != nil {
			t.Fatal(err)
		}
		if u.Status == subgate.StatusDisabled {
			disabled = append(disabled, u)
		}
	}
	for _, rare := range []int{0, 1_000_000} {
		s.rareMatches = rare
		for _, so := range []subgate.SubUserSort{subgate.SortAvailable, subgate.SortUsername} {
			for _, desc := range []bool{false, true} {
				want := expectSearch(disabled, 0, "", so, desc)
				f := subgate.SubUserFilter{Scope: subgate.Scope(r.ID), Status: subgate.StatusDisabled, Sort: so, Desc: desc, Limit: 2, WithTotal: true}
				var got []int64
				for range 50 {
					page, err := s.SubUsers(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					if page.Total != int64(len(want)) {
						t.Fatalf("rare=%d %s desc=%t: total %d, want %d", rare, so, desc, page.Total, len(want))
					}
					for _, u := range page.Items {
						got = append(got, u.ID)
					}
					if f.After = page.Next; f.After == "" {
						break
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("rare=%d %s desc=%t:\n got %v\nwant %v", rare, so, desc, got, want)
				}
			}
		}
	}
}
