package gallery

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// WebhookEvent is the type of a webhook message (Standard Webhooks' "type").
type WebhookEvent string

// The webhook events. Their messages are recorded in the transaction of the change itself, so
// a change that rolls back sends none.
const (
	EventImageReady     WebhookEvent = "image.ready"     // an image's thumbnail record became complete
	EventImageFailed    WebhookEvent = "image.failed"    // an image's thumbnail job gave up
	EventGalleryChanged WebhookEvent = "gallery.changed" // images were added, deleted or moved (so the order or the main image may have changed)
	EventProductDeleted WebhookEvent = "product.deleted" // a product was deleted with its images
)

// WebhookEvents lists every event type, in the order the documentation gives them.
var WebhookEvents = []WebhookEvent{EventImageReady, EventImageFailed, EventGalleryChanged, EventProductDeleted}

// Valid reports whether e is one of WebhookEvents.
func (e WebhookEvent) Valid() bool {
	for _, v := range WebhookEvents {
		if e == v {
			return true
		}
	}
	return false
}

// Bounds of webhook endpoints.
const (
	MaxWebhookURLLength         = 2048
	MaxWebhookDescriptionLength = 500
	// DefaultWebhooksPerOwner is how many endpoints a supplier (or the service role, for
	// global ones) may have unless configured otherwise.
	DefaultWebhooksPerOwner = 20
	// DefaultDeliveryPage and MaxDeliveryPage size a page of an endpoint's deliveries.
	DefaultDeliveryPage = 50
	MaxDeliveryPage     = 200
	// WebhookRetention is how long messages and their deliveries are kept once none is pending.
	WebhookRetention = 7 * 24 * time.Hour
)

// Webhook is an endpoint that receives signed messages of the events it subscribes to: the
// events of its supplier's products, or, for a global endpoint (SupplierID nil, the service
// role's), of every supplier's. Its signing secret is never part of it: it is shown once, when
// the endpoint is created.
type Webhook struct {
	ID          uuid.UUID
	SupplierID  *uuid.UUID
	URL         string
	Events      []WebhookEvent
	Description string
	Enabled     bool
	// DisabledReason says why Vitrine disabled the endpoint (the target answered 410 Gone);
	// empty when the owner disabled it or it is enabled.
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// WebhookChange is a change to an endpoint; nil fields are left as they are.
type WebhookChange struct {
	URL         *string
	Events      []WebhookEvent
	Description *string
	Enabled     *bool
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The statuses of a delivery.
const (
	DeliveryPending   DeliveryStatus = "pending"   // not sent yet, or to be retried
	DeliveryDelivered DeliveryStatus = "delivered" // the endpoint answered 2xx
	DeliveryFailed    DeliveryStatus = "failed"    // every attempt failed, or the target may not be reached
)

// WebhookDelivery is one message sent, or to be sent, to one endpoint.
type WebhookDelivery struct {
	ID             int64
	WebhookID      uuid.UUID
	MessageID      uuid.UUID // the webhook-id header, the same for every attempt
	Type           WebhookEvent
	Payload        json.RawMessage
	Status         DeliveryStatus
	Attempts       int
	LastStatusCode int // 0: no HTTP answer
	LastError      string
	LastAttemptAt  *time.Time
	NextAttemptAt  *time.Time // when the next attempt is due, while one is
	DeliveredAt    *time.Time
	CreatedAt      time.Time
}

// DeliveryPage is a page of an endpoint's deliveries, newest first. NextCursor, when not
// zero, continues with older ones.
type DeliveryPage struct {
	Deliveries []WebhookDelivery
	NextCursor int64
}

// WebhookTarget is what a delivery worker needs to send one delivery.
type WebhookTarget struct {
	DeliveryID int64
	MessageID  uuid.UUID
	URL        string
	Secret     string
	Enabled    bool
	Status     DeliveryStatus
	Payload    []byte
}

// WebhookAttempt is the outcome of one attempt to send a delivery.
type WebhookAttempt struct {
	Attempt    int
	StatusCode int    // 0: no HTTP answer
	Error      string // "" when delivered
	Delivered  bool
	Final      bool // no attempt follows: the delivery failed
	Gone       bool // the target answered 410 Gone: the endpoint is disabled
}

// NewWebhookSecret returns a fresh signing secret in Standard Webhooks' form: "whsec_" and
// the base64 of 32 random bytes.
func NewWebhookSecret() string {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}
