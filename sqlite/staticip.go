package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/subgate/subgate"
)

var _ subgate.StaticIPStore = (*Store)(nil)

const staticIPColumns = `id, address, upstream, country, access_point, subuser_id, allocated_at, created_at`

// staticIPFree is true for rows free to allocate: never allocated, or
// allocated to a sub-user that was deleted since.
const staticIPFree = `(subuser_id IS NULL OR subuser_id IN (SELECT id FROM subusers WHERE deleted_at IS NOT NULL))`

// AddStaticIPs implements subgate.StaticIPStore. A static proxy's password
// is sealed with the store's cipher; entries are the same when all but the
// password matches, which the unique index on the sealed column cannot see,
// so the identity is checked here (the single writer serialises adds).
func (s *Store) AddStaticIPs(ctx context.Context, ips []*subgate.StaticIP) error {
	now := s.now().UTC()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, ip := range ips {
			upstream, err := subgate.SealStaticUpstream(s.cipher, ip.Upstream)
			if err != nil {
				return err
			}
			if ip.Upstream != "" {
				if err := upstreamFree(ctx, tx, ip.Upstream); err != nil {
					return err
				}
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO static_ips (address, upstream, country, access_point, created_at)
				VALUES (?, ?, ?, ?, ?)`, ip.Address, upstream, ip.Country, ip.AccessPoint, unixNano(now))
			if isUnique(err) {
				return subgate.StaticIPStocked(ip)
			}
			if err != nil {
				return err
			}
			if ip.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			ip.CreatedAt, ip.SubUserID, ip.AllocatedAt = fromNano(unixNano(now)), 0, nil
		}
		return nil
	})
}

// upstreamFree fails with ECONFLICT when a static proxy with the same
// identity (all but the password) is in the inventory.
func upstreamFree(ctx context.Context, tx *sql.Tx, upstream string) error {
	identity, prefix := subgate.StaticUpstreamMatch(upstream)
	q, args := `SELECT count(*) FROM static_ips WHERE upstream = ?`, []any{identity}
	if prefix != "" {
		q, args = q+` OR substr(upstream, 1, length(?)) = ?`, append(args, prefix, prefix)
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return subgate.StaticIPStocked(&subgate.StaticIP{Upstream: upstream})
	}
	return nil
}

// StaticIPs implements subgate.StaticIPStore.
func (s *Store) StaticIPs(ctx context.Context, f subgate.StaticIPFilter) ([]*subgate.StaticIP, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	where, args := []string{"id > ?"}, []any{f.After}
	if f.Country != "" {
		where, args = append(where, "country = ?"), append(args, f.Country)
	}
	if f.AccessPoint != "" {
		where, args = append(where, "access_point = ?"), append(args, f.AccessPoint)
	}
	if f.FreeOnly {
		where = append(where, staticIPFree)
	}
	if f.AllocatedOnly {
		where = append(where, "NOT "+staticIPFree)
	}
	if f.SubUserID != 0 {
		where, args = append(where, "subuser_id = ?"), append(args, f.SubUserID)
	}
	q := `SELECT ` + staticIPColumns + ` FROM static_ips WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id LIMIT ?`
	return s.queryStaticIPs(ctx, s.read, q, append(args, f.Limit)...)
}

// RemoveStaticIP implements subgate.StaticIPStore.
func (s *Store) RemoveStaticIP(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM static_ips WHERE id = ? AND `+staticIPFree, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM static_ips WHERE id = ?`, id).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return subgate.NotFound("static IP")
		}
		return subgate.StaticIPAllocated(id)
	})
}

// AllocateStaticIPs implements subgate.StaticIPStore. The single writer
// connection serialises allocations, so two can never pick the same row.
func (s *Store) AllocateStaticIPs(ctx context.Context, a subgate.StaticIPAllocation) ([]*subgate.StaticIP, error) {
	var out []*subgate.StaticIP
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := liveSubUserInScope(ctx, tx, a.Scope, a.SubUserID); err != nil {
			return err
		}
		ips, err := s.queryStaticIPs(ctx, tx, `SELECT `+staticIPColumns+` FROM static_ips
			WHERE country = ? AND (? = '' OR access_point = ?) AND `+staticIPFree+` ORDER BY id LIMIT ?`,
			a.Country, a.AccessPoint, a.AccessPoint, a.Count)
		if err != nil {
			return err
		}
		if len(ips) < a.Count {
			return a.Insufficient(len(ips))
		}
		at := a.Now.UTC()
		for _, ip := range ips {
			if _, err := tx.ExecContext(ctx, `UPDATE static_ips SET subuser_id = ?, allocated_at = ? WHERE id = ?`,
				a.SubUserID, unixNano(at), ip.ID); err != nil {
				return err
			}
			t := fromNano(unixNano(at))
			ip.SubUserID, ip.AllocatedAt = a.SubUserID, &t
		}
		out = ips
		return nil
	})
	return out, err
}

// liveSubUserInScope checks that a sub-user exists, is not deleted and
// belongs to scope (when scope is set).
func liveSubUserInScope(ctx context.Context, q querier, scope subgate.Scope, id int64) error {
	var reseller int64
	var deleted sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT reseller_id, deleted_at FROM subusers WHERE id = ?`, id).Scan(&reseller, &deleted)
	if err == sql.ErrNoRows || (err == nil && (deleted.Valid || (scope != 0 && subgate.Scope(reseller) != scope))) {
		return subgate.NotFound("sub-user")
	}
	return err
}

// SubUserStaticIPs implements subgate.StaticIPStore.
func (s *Store) SubUserStaticIPs(ctx context.Context, subUserID int64) ([]*subgate.StaticIP, error) {
	return s.queryStaticIPs(ctx, s.read, `SELECT `+staticIPColumns+` FROM static_ips WHERE subuser_id = ? ORDER BY id`, subUserID)
}

// ReleaseStaticIPs implements subgate.StaticIPStore.
func (s *Store) ReleaseStaticIPs(ctx context.Context, scope subgate.Scope, subUserID int64, ids []int64) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var reseller int64
		err := tx.QueryRowContext(ctx, `SELECT reseller_id FROM subusers WHERE id = ?`, subUserID).Scan(&reseller)
		if err == sql.ErrNoRows || (err == nil && scope != 0 && subgate.Scope(reseller) != scope) {
			return subgate.NotFound("sub-user")
		}
		if err != nil {
			return err
		}
		q, args := `UPDATE static_ips SET subuser_id = NULL, allocated_at = NULL WHERE subuser_id = ?`, []any{subUserID}
		if len(ids) > 0 {
			q += ` AND id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
			for _, id := range ids {
				args = append(args, id)
			}
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// queryStaticIPs reads inventory rows, opening sealed proxy passwords.
func (s *Store) queryStaticIPs(ctx context.Context, q querier, query string, args ...any) ([]*subgate.StaticIP, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("static ips: %w", err)
	}
	defer rows.Close()
	var out []*subgate.StaticIP
	for rows.Next() {
		ip := &subgate.StaticIP{}
		var sub, at sql.NullInt64
		var created int64
		if err := rows.Scan(&ip.ID, &ip.Address, &ip.Upstream, &ip.Country, &ip.AccessPoint, &sub, &at, &created); err != nil {
			return nil, err
		}
		ip.SubUserID, ip.AllocatedAt, ip.CreatedAt = sub.Int64, timePtr(at), fromNano(created)
		if ip.Upstream != "" {
			if ip.Upstream, err = subgate.OpenStaticUpstream(s.cipher, ip.Upstream); err != nil {
				return nil, err
			}
		}
		out = append(out, ip)
	}
	return out, rows.Err()
}
