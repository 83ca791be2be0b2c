package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/subgate/subgate"
)

var _ subgate.StaticIPStore = (*Store)(nil)

const staticIPColumns = `id, address, upstream, country, access_point, subuser_id, allocated_at, created_at`

// staticIPFree is true for rows free to allocate: never allocated, or
// allocated to a sub-user that was deleted since.
const staticIPFree = `(subuser_id IS NULL OR subuser_id IN (SELECT id FROM subusers WHERE deleted_at IS NOT NULL))`

// staticIPLockKey serialises allocations so that one sees every IP another
// committed and none can fail for rows a concurrent one merely holds.
const staticIPLockKey int64 = 0x5375_6267_7374_6970 // "Subgstip"

// AddStaticIPs implements subgate.StaticIPStore. A static proxy's password
// is sealed with the store's cipher; entries are the same when all but the
// password matches, which the unique index on the sealed column cannot see,
// so the identity is checked here under the inventory lock.
func (s *Store) AddStaticIPs(ctx context.Context, ips []*subgate.StaticIP) error {
	now := s.stamp()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, staticIPLockKey); err != nil {
			return err
		}
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
			err = tx.QueryRow(ctx, `INSERT INTO static_ips (address, upstream, country, access_point, created_at)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`, ip.Address, upstream, ip.Country, ip.AccessPoint, now).Scan(&ip.ID)
			if uniqueViolation(err, "") {
				return subgate.StaticIPStocked(ip)
			}
			if err != nil {
				return err
			}
			ip.CreatedAt, ip.SubUserID, ip.AllocatedAt = now, 0, nil
		}
		return nil
	})
}

// upstreamFree fails with ECONFLICT when a static proxy with the same
// identity (all but the password) is in the inventory.
func upstreamFree(ctx context.Context, tx pgx.Tx, upstream string) error {
	identity, prefix := subgate.StaticUpstreamMatch(upstream)
	var exists bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM static_ips WHERE upstream = $1 OR ($2 <> '' AND starts_with(upstream, $2)))`,
		identity, prefix).Scan(&exists)
	if err != nil {
		return err
	}
	if exists {
		return subgate.StaticIPStocked(&subgate.StaticIP{Upstream: upstream})
	}
	return nil
}

// StaticIPs implements subgate.StaticIPStore.
func (s *Store) StaticIPs(ctx context.Context, f subgate.StaticIPFilter) ([]*subgate.StaticIP, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	where, args := []string{"id > $1"}, []any{f.After}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Country != "" {
		where = append(where, "country = "+arg(f.Country))
	}
	if f.AccessPoint != "" {
		where = append(where, "access_point = "+arg(f.AccessPoint))
	}
	if f.FreeOnly {
		where = append(where, staticIPFree)
	}
	if f.AllocatedOnly {
		where = append(where, "NOT "+staticIPFree)
	}
	if f.SubUserID != 0 {
		where = append(where, "subuser_id = "+arg(f.SubUserID))
	}
	q := `SELECT ` + staticIPColumns + ` FROM static_ips WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id LIMIT ` + arg(f.Limit)
	ips, err := s.queryStaticIPs(ctx, s.pool, q, args...)
	return ips, dbError(err)
}

// RemoveStaticIP implements subgate.StaticIPStore.
func (s *Store) RemoveStaticIP(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, staticIPLockKey); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM static_ips WHERE id = $1 AND `+staticIPFree, id)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM static_ips WHERE id = $1)`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return subgate.NotFound("static IP")
		}
		return subgate.StaticIPAllocated(id)
	})
}

// AllocateStaticIPs implements subgate.StaticIPStore.
func (s *Store) AllocateStaticIPs(ctx context.Context, a subgate.StaticIPAllocation) ([]*subgate.StaticIP, error) {
	var out []*subgate.StaticIP
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = nil
		// Lock the sub-user row against a concurrent delete, then take the
		// allocation lock.
		if err := liveSubUserInScope(ctx, tx, a.Scope, a.SubUserID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, staticIPLockKey); err != nil {
			return err
		}
		at := dbTime(a.Now)
		ips, err := s.queryStaticIPs(ctx, tx, `UPDATE static_ips SET subuser_id = $1, allocated_at = $2
			WHERE id IN (SELECT id FROM static_ips WHERE country = $3 AND ($4 = '' OR access_point = $4) AND `+staticIPFree+`
			             ORDER BY id LIMIT $5)
			RETURNING `+staticIPColumns, a.SubUserID, at, a.Country, a.AccessPoint, a.Count)
		if err != nil {
			return err
		}
		if len(ips) < a.Count {
			return a.Insufficient(len(ips)) // rolls the update back
		}
		slices.SortFunc(ips, func(a, b *subgate.StaticIP) int { return cmp.Compare(a.ID, b.ID) })
		out = ips
		return nil
	})
	return out, err
}

// liveSubUserInScope locks a live sub-user of scope (any when scope is 0).
func liveSubUserInScope(ctx context.Context, tx pgx.Tx, scope subgate.Scope, id int64) error {
	var reseller int64
	err := tx.QueryRow(ctx, `SELECT reseller_id FROM subusers WHERE id = $1 AND deleted_at IS NULL FOR SHARE`, id).Scan(&reseller)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && scope != 0 && subgate.Scope(reseller) != scope) {
		return subgate.NotFound("sub-user")
	}
	return err
}

// SubUserStaticIPs implements subgate.StaticIPStore.
func (s *Store) SubUserStaticIPs(ctx context.Context, subUserID int64) ([]*subgate.StaticIP, error) {
	ips, err := s.queryStaticIPs(ctx, s.pool, `SELECT `+staticIPColumns+` FROM static_ips WHERE subuser_id = $1 ORDER BY id`, subUserID)
	return ips, dbError(err)
}

// ReleaseStaticIPs implements subgate.StaticIPStore.
func (s *Store) ReleaseStaticIPs(ctx context.Context, scope subgate.Scope, subUserID int64, ids []int64) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var reseller int64
		err := tx.QueryRow(ctx, `SELECT reseller_id FROM subusers WHERE id = $1`, subUserID).Scan(&reseller)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && scope != 0 && subgate.Scope(reseller) != scope) {
			return subgate.NotFound("sub-user")
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE static_ips SET subuser_id = NULL, allocated_at = NULL
			WHERE subuser_id = $1 AND (coalesce(cardinality($2::bigint[]), 0) = 0 OR id = ANY($2))`, subUserID, ids)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// rowQuerier is what a pool and a transaction offer for queries.
type rowQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// queryStaticIPs reads inventory rows, opening sealed proxy passwords.
func (s *Store) queryStaticIPs(ctx context.Context, q rowQuerier, query string, args ...any) ([]*subgate.StaticIP, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*subgate.StaticIP
	for rows.Next() {
		ip := &subgate.StaticIP{}
		var sub *int64
		var at *time.Time
		if err := rows.Scan(&ip.ID, &ip.Address, &ip.Upstream, &ip.Country, &ip.AccessPoint, &sub, &at, &ip.CreatedAt); err != nil {
			return nil, err
		}
		if sub != nil {
			ip.SubUserID = *sub
		}
		ip.AllocatedAt, ip.CreatedAt = utcPtr(at), ip.CreatedAt.UTC()
		if ip.Upstream != "" {
			if ip.Upstream, err = subgate.OpenStaticUpstream(s.cipher, ip.Upstream); err != nil {
				return nil, err
			}
		}
		out = append(out, ip)
	}
	return out, rows.Err()
}
