package gallery

import (
	"context"
	"encoding/json"
	"strings"

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
//
// The supplier an authenticated caller acts for is decided by the database
// (vitrine_supplier(), see docs/design.md): the supplier ActFor names when it is set, which
// must be the user's own id, its claimed supplier or a supplier whose team it is in; else
// the supplier its token claims (ClaimedSupplier); else its own user id.
type Caller struct {
	Role   Role
	UserID uuid.UUID
	Claims json.RawMessage // nil: made from Role and UserID
	// ClaimedSupplier is the supplier the token's configured supplier claim names; uuid.Nil:
	// none. The database reads it from Claims; it is here so that callers acting alike can be
	// told apart without parsing the claims again.
	ClaimedSupplier uuid.UUID
	// ActFor is the supplier the request asks to act for (the Vitrine-Supplier header);
	// uuid.Nil: none.
	ActFor uuid.UUID
}

// SupplierHeader is the request header with which a user in several suppliers' teams
// chooses the one it acts for. The database reads it, lower-cased as PostgREST passes
// headers, from request.headers.
const SupplierHeader = "Vitrine-Supplier"

// Service is the caller that workers, commands and the API's own bookkeeping act as.
func Service() Caller { return Caller{Role: RoleService} }

// Anonymous is a caller without a token.
func Anonymous() Caller { return Caller{Role: RoleAnon} }

// Supplier is an authenticated supplier.
func Supplier(id uuid.UUID) Caller { return Caller{Role: RoleAuthenticated, UserID: id} }

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

// HeadersJSON returns the request headers to give the database (request.headers), as
// PostgREST does: the names in lower case. Only the headers the database reads are given.
func (c Caller) HeadersJSON() []byte {
	if c.ActFor == uuid.Nil {
		return []byte("{}")
	}
	b, _ := json.Marshal(map[string]string{strings.ToLower(SupplierHeader): c.ActFor.String()})
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
