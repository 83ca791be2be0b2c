package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/subgate/subgate"
)

// UpdateSubUsers implements subgate.Store in one write transaction: writes
// are serialised, so reading the named rows locks them.
func (s *Store) UpdateSubUsers(ctx context.Context, scope subgate.Scope, b subgate.SubUserBulkUpdate,
	check func(*subgate.SubUser) error, at time.Time) ([]*subgate.SubUser, error) {
	if len(b.Refs) == 0 {
		return nil, nil
	}
	var out []*subgate.SubUser
	err := s.update(ctx, func(tx *wtx) error {
		ids, err := resolveRefs(ctx, tx, scope, b.Refs)
		if err != nil {
			return err
		}
		idList, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		locked, err := s.querySubUsers(ctx, tx, `SELECT `+subUserColumns+` FROM subusers s
			WHERE s.id IN (SELECT value FROM json_each(?)) ORDER BY s.id`, string(idList))
		if err != nil {
			return err
		}
		for _, u := range locked {
			if err := check(u); err != nil {
				return err
			}
		}
		set, args, err := s.updateSet(ctx, tx, 0, b.Update)
		if err != nil {
			return err
		}
		set, args = limitsPatchSet(b.Limits, set, args)
		if len(set) > 0 {
			args = append(args, string(idList))
			if _, err := tx.ExecContext(ctx, `UPDATE subusers SET `+strings.Join(set, ", ")+
				` WHERE id IN (SELECT value FROM json_each(?))`, args...); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if err := touch(ctx, tx, id, at); err != nil {
				return err
			}
		}
		out, err = s.querySubUsers(ctx, tx, `SELECT `+subUserColumns+` FROM subusers s
			WHERE s.id IN (SELECT value FROM json_each(?)) ORDER BY s.id`, string(idList))
		return err
	})
	return out, err
}

// resolveRefs finds the live sub-users of scope that refs name (ids or
// hashes), in ascending id order without repeats; a ref naming none is
// BulkNotFound.
func resolveRefs(ctx context.Context, tx *wtx, scope subgate.Scope, refs []string) ([]int64, error) {
	seen := make(map[int64]bool, len(refs))
	var ids []int64
	for _, ref := range refs {
		id, numeric := subgate.IsNumericRef(ref)
		var reseller int64
		var deleted *int64
		q, arg := `SELECT id, reseller_id, deleted_at FROM subusers WHERE hash = ?`, any(ref)
		if numeric {
			q, arg = `SELECT id, reseller_id, deleted_at FROM subusers WHERE id = ?`, id
		}
		err := tx.QueryRowContext(ctx, q, arg).Scan(&id, &reseller, &deleted)
		if err != nil || deleted != nil || (scope != 0 && reseller != int64(scope)) {
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
			return nil, subgate.BulkNotFound(ref)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// limitsPatchSet adds SET clauses for the limits a patch gives.
func limitsPatchSet(p *subgate.LimitsPatch, set []string, args []any) ([]string, []any) {
	if p == nil {
		return set, args
	}
	for _, f := range []struct {
		col string
		v   *int64
	}{
		{"limit_daily", p.Daily}, {"limit_monthly", p.Monthly}, {"limit_lifetime", p.Lifetime},
		{"limit_usage_cap", p.UsageCap}, {"limit_ip_cap", p.IPUsageCap}, {"limit_conc", p.MaxConcurrency},
	} {
		if f.v != nil {
			set, args = append(set, f.col+" = ?"), append(args, *f.v)
		}
	}
	return set, args
}
