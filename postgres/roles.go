package postgres

import (
	"context"
	"fmt"
)

// LoginRole describes the role a pool logs in as, and whether row-level security binds it.
type LoginRole struct {
	Name        string
	Superuser   bool
	BypassRLS   bool
	OwnsTables  bool // owns products or product_images
	RLSForced   bool // both tables have row-level security enabled and forced
	CanActAsAll bool // member of anon, authenticated and service_role
}

// Safe reports whether the role cannot get around row-level security.
func (r LoginRole) Safe() bool {
	return !r.Superuser && !r.BypassRLS && !r.OwnsTables && r.RLSForced && r.CanActAsAll
}

// LoginRole reads what the pool's login role may do.
func (db *DB) LoginRole(ctx context.Context) (LoginRole, error) {
	var r LoginRole
	err := db.pool.QueryRow(ctx, `SELECT current_user, r.rolsuper, r.rolbypassrls,
			EXISTS (SELECT 1 FROM pg_class c WHERE c.oid IN ('products'::regclass, 'product_images'::regclass)
			        AND pg_get_userbyid(c.relowner) = current_user),
			(SELECT bool_and(c.relrowsecurity AND c.relforcerowsecurity) FROM pg_class c
			  WHERE c.oid IN ('products'::regclass, 'product_images'::regclass)),
			pg_has_role(current_user, 'anon', 'MEMBER') AND pg_has_role(current_user, 'authenticated', 'MEMBER')
			  AND pg_has_role(current_user, 'service_role', 'MEMBER')
		FROM pg_roles r WHERE r.rolname = current_user`).
		Scan(&r.Name, &r.Superuser, &r.BypassRLS, &r.OwnsTables, &r.RLSForced, &r.CanActAsAll)
	if err != nil {
		return r, fmt.Errorf("reading the login role: %w", err)
	}
	return r, nil
}
