package gallery

import (
	"time"

	"github.com/google/uuid"
)

// MemberRole is what a member of a supplier's team may do with the supplier's products.
type MemberRole string

// The roles of a team's members.
const (
	MemberEditor MemberRole = "editor" // reads and changes the supplier's products, as the supplier itself
	MemberViewer MemberRole = "viewer" // reads the supplier's products, published or not, and changes nothing
)

// Member is a user allowed to act for a supplier other than itself, with the
// SupplierHeader of its requests.
type Member struct {
	SupplierID uuid.UUID
	UserID     uuid.UUID
	Role       MemberRole
	CreatedAt  time.Time
}

// Check refuses a member without a supplier or a user, with a role that is not a
// MemberRole, or that would be a member of its own team.
func (m Member) Check() error {
	switch {
	case m.SupplierID == uuid.Nil || m.UserID == uuid.Nil:
		return Errorf(EINVALID, "a member needs a supplier id and a user id")
	case m.SupplierID == m.UserID:
		return Errorf(EINVALID, "a supplier always acts for itself: it needs no membership of its own team")
	case m.Role != MemberEditor && m.Role != MemberViewer:
		return Errorf(EINVALID, "role %q is not %s or %s", m.Role, MemberEditor, MemberViewer)
	}
	return nil
}
