package loadtest

import (
	"slices"

	"github.com/google/uuid"
)

// product is a client's knowledge of one of its products.
type product struct {
	id          uuid.UUID
	created     bool // its creation was acknowledged (or a retry found it made)
	triedCreate bool // a creation went unanswered
	// images is the gallery in order as the last acknowledged write or read left it; it is
	// stale after a write that failed, until the next read.
	images []uuid.UUID
	stale  bool
	// tainted: a write went unanswered, so its effect may land later; from then on only
	// presence and absence are checked, not the order.
	tainted      bool
	present      map[uuid.UUID]bool // acknowledged (uploaded or read) and not deleted since
	deleted      map[uuid.UUID]bool // deletes acknowledged
	maybeDeleted map[uuid.UUID]bool // deletes that went unanswered
}

func newProduct(id uuid.UUID) *product {
	return &product{id: id, present: map[uuid.UUID]bool{}, deleted: map[uuid.UUID]bool{}, maybeDeleted: map[uuid.UUID]bool{}}
}

// failed notes a write or read that was not answered 2xx: the gallery must be read again,
// and a write that may have happened leaves the product tainted.
func (p *product) failed(a answer) {
	if a.refused() {
		return // nothing happened
	}
	p.stale = true
	if a.uncertain() {
		p.tainted = true
	}
}

// ProductLedger is what a run knows a product's gallery must hold.
type ProductLedger struct {
	ID      uuid.UUID
	Created bool        // the product was acknowledged: it must exist
	Present []uuid.UUID // images acknowledged and not deleted since: they must be in its gallery
	Deleted []uuid.UUID // images whose delete was acknowledged: they must not be
	// Order, when not nil, is the exact gallery every write was acknowledged to leave (no
	// write of this product went unanswered).
	Order []uuid.UUID
}

func (p *product) ledger() ProductLedger {
	l := ProductLedger{ID: p.id, Created: p.created}
	for id := range p.present {
		l.Present = append(l.Present, id)
	}
	for id := range p.deleted {
		l.Deleted = append(l.Deleted, id)
	}
	if p.created && !p.stale && !p.tainted {
		l.Order = slices.Clone(p.images)
		if l.Order == nil {
			l.Order = []uuid.UUID{}
		}
	}
	return l
}
