package gallery

import (
	"time"

	"github.com/google/uuid"
)

// Change is the kind of change an event records.
type Change string

// The changes. An event with an image names the image; one without is about the product.
const (
	ChangeCreated    Change = "created"    // an image was added
	ChangeAlt        Change = "alt"        // an image's alt text changed
	ChangeMoved      Change = "moved"      // an image's position changed
	ChangeDeleted    Change = "deleted"    // an image, or (without an image) the product, was deleted
	ChangeStatus     Change = "status"     // an image's thumbnail job changed state
	ChangeThumbnails Change = "thumbnails" // an image's thumbnail record changed
	ChangePublished  Change = "published"  // the product was published or withdrawn
	ChangeTitle      Change = "title"      // the product's title changed
)

// Event is one change to a product or one of its images, numbered by Seq: per product, in
// commit order, from 1. Events are kept for EventRetention at least.
type Event struct {
	ProductID uuid.UUID
	Seq       int64
	ImageID   uuid.UUID // uuid.Nil: the event is about the product
	Change    Change
	At        time.Time
}

// EventRetention is how long events are kept, and so how long a client may stay away and
// still be told exactly what it missed.
const EventRetention = time.Hour

// ProductEvents is one read of a product for a caller: the product and its gallery as they
// are now, the number of the last event committed (Head), and the events after the number
// the reader asked for, in order, up to Head or up to the reader's limit (Through says where
// they stop). Held is false when those events are not there (they expired, or the number
// asked for is beyond Head): the reader must start again from the state.
type ProductEvents struct {
	Product Product
	Images  []Image // in gallery order
	Head    int64
	Events  []Event
	Held    bool
}

// Through is the number of the last event the read covers: the last of Events, or Head when
// the read returned every event up to Head (or none was asked for).
func (p ProductEvents) Through() int64 {
	if n := len(p.Events); n > 0 {
		return p.Events[n-1].Seq
	}
	return p.Head
}
