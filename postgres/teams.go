package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitrine-dev/vitrine/gallery"
)

// CheckWritable refuses a product that the caller that ctx carries may not change: a
// not-found error when it cannot see the product, a forbidden one when it can (a published
// product of another supplier, or one of a team it is a viewer of) but may not change it.
func (db *DB) CheckWritable(ctx context.Context, productID uuid.UUID) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT vitrine_check_writable($1)`, productID)
		return err
	})
	return domainError("checking product", err)
}

// ActingSupplier returns the supplier the caller that ctx carries acts for, and whether it
// may change that supplier's products; uuid.Nil for a caller without a user. A supplier the
// caller asks for (Caller.ActFor) but may not act for is forbidden.
func (db *DB) ActingSupplier(ctx context.Context) (uuid.UUID, bool, error) {
	var (
		id       *uuid.UUID
		canWrite *bool
	)
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT supplier_id, can_write FROM vitrine_acting_supplier()`).Scan(&id, &canWrite)
	})
	if err != nil || id == nil {
		return uuid.Nil, false, domainError("reading the acting supplier", err)
	}
	return *id, canWrite != nil && *canWrite, nil
}

// SetSupplierClaim records, for every request of the database (PostgREST's too), the path
// of the token's claim that names the supplier a user acts for, such as
// []string{"app_metadata", "supplier_id"}; nil or empty: none, and a user acts for its own id
// unless it asks for a team's supplier. It needs the service role.
func (db *DB) SetSupplierClaim(ctx context.Context, path []string) error {
	if path == nil {
		path = []string{}
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT vitrine_set_supplier_claim($1)`, path)
		return err
	})
	return domainError("recording the supplier claim", err)
}

// AddMember makes user a member of supplier's team with role (editor or viewer), or changes
// the role of a member. It needs the service role.
func (db *DB) AddMember(ctx context.Context, m gallery.Member) (gallery.Member, error) {
	if err := m.Check(); err != nil {
		return m, err
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO supplier_members (supplier_id, user_id, role) VALUES ($1, $2, $3)
			ON CONFLICT (supplier_id, user_id) DO UPDATE SET role = excluded.role
			RETURNING created_at`, m.SupplierID, m.UserID, string(m.Role)).Scan(&m.CreatedAt)
	})
	return m, domainError("adding a member", err)
}

// RemoveMember removes user from supplier's team; the next request of the user no longer
// acts for the supplier. A user who is not a member is a not-found error.
func (db *DB) RemoveMember(ctx context.Context, supplierID, userID uuid.UUID) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM supplier_members WHERE supplier_id = $1 AND user_id = $2`, supplierID, userID)
		if err == nil && tag.RowsAffected() == 0 {
			err = gallery.Errorf(gallery.ENOTFOUND, "user %s is not a member of the team of supplier %s", userID, supplierID)
		}
		return err
	})
	return domainError("removing a member", err)
}

// Members lists the teams the caller may read, by supplier then user: every team for the
// service role; for a user, its own memberships and the team of the supplier it is.
// supplierID, when not uuid.Nil, keeps that supplier's team only.
func (db *DB) Members(ctx context.Context, supplierID uuid.UUID) ([]gallery.Member, error) {
	var out []gallery.Member
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT supplier_id, user_id, role, created_at FROM supplier_members
			WHERE $1::uuid IS NULL OR supplier_id = $1 ORDER BY supplier_id, user_id`, nilUUID(supplierID))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (gallery.Member, error) {
			var (
				m    gallery.Member
				role string
				at   time.Time
			)
			err := row.Scan(&m.SupplierID, &m.UserID, &role, &at)
			m.Role, m.CreatedAt = gallery.MemberRole(role), at
			return m, err
		})
		return err
	})
	return out, domainError("listing members", err)
}

// nilUUID is NULL for uuid.Nil.
func nilUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}
