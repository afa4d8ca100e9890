package gallery

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
)

// Role is the database role a caller acts as, with the names PostgREST and Supabase use.
type Role string

// The roles. Row-level security in PostgreSQL decides what each may read and change.
const (
	RoleAnon          Role = "anon"          // no token: reads published galleries only
	RoleAuthenticated Role = "authenticated" // a supplier: its own products, and published ones to read
	RoleService       Role = "service_role"  // workers and operators: everything
)

// Caller is who is making a request: a role, the user id (the token's sub) for
// authenticated callers, and the token's claims as the database sees them.
type Caller struct {
	Role   Role
	UserID uuid.UUID
	Claims json.RawMessage // nil: made from Role and UserID
}

// Service is the caller that workers, commands and the API's own bookkeeping act as.
func Service() Caller { return Caller{Role: RoleService} }

// Anonymous is a caller without a token.
func Anonymous() Caller { return Caller{Role: RoleAnon} }

// Supplier is an authenticated supplier.
func Supplier(id uuid.UUID) Caller { return Caller{Role: RoleAuthenticated, UserID: id} }

// Owns reports whether the caller may change a product owned by supplierID.
func (c Caller) Owns(supplierID uuid.UUID) bool {
	switch c.Role {
	case RoleService:
		return true
	case RoleAuthenticated:
		return c.UserID != uuid.Nil && c.UserID == supplierID
	default:
		return false
	}
}

// ClaimsJSON returns the claims to give the database (request.jwt.claims).
func (c Caller) ClaimsJSON() []byte {
	if c.Claims != nil {
		return c.Claims
	}
	m := map[string]string{"role": string(c.Role)}
	if c.UserID != uuid.Nil {
		m["sub"] = c.UserID.String()
	}
	b, _ := json.Marshal(m)
	return b
}

type callerKey struct{}

// WithCaller returns a context that carries the caller; every database transaction takes
// its role and claims from it.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller that ctx carries.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// SupplierRef is the supplier a write must be owned by, for the database functions that take
// one: the user id of an authenticated caller, nil for the service.
func (c Caller) SupplierRef() *uuid.UUID {
	if c.Role == RoleAuthenticated {
		id := c.UserID
		return &id
	}
	return nil
}
