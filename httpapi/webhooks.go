package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/safehttp"
)

// Webhooks is what the API needs of the storage of webhook endpoints and deliveries. Every
// method acts as the caller that ctx carries.
type Webhooks interface {
	CreateWebhook(ctx context.Context, w gallery.Webhook, secret string, limit int) (gallery.Webhook, error)
	Webhooks(ctx context.Context, supplierID *uuid.UUID) ([]gallery.Webhook, error)
	Webhook(ctx context.Context, id uuid.UUID) (gallery.Webhook, error)
	UpdateWebhook(ctx context.Context, id uuid.UUID, change gallery.WebhookChange) (gallery.Webhook, error)
	DeleteWebhook(ctx context.Context, id uuid.UUID) error
	WebhookDeliveries(ctx context.Context, webhookID uuid.UUID, before int64, limit int) (gallery.DeliveryPage, error)
	ResendWebhookDelivery(ctx context.Context, webhookID uuid.UUID, deliveryID int64) (gallery.WebhookDelivery, error)
}

type webhookJSON struct {
	ID             uuid.UUID              `json:"id"`
	SupplierID     *uuid.UUID             `json:"supplier_id"`
	URL            string                 `json:"url"`
	Events         []gallery.WebhookEvent `json:"events"`
	Description    string                 `json:"description"`
	Enabled        bool                   `json:"enabled"`
	DisabledReason string                 `json:"disabled_reason"`
	CreatedAt      time.Time              `json:"created_at"`
	UpdatedAt      time.Time              `json:"updated_at"`
}

func toWebhookJSON(w gallery.Webhook) webhookJSON {
	return webhookJSON{ID: w.ID, SupplierID: w.SupplierID, URL: w.URL, Events: w.Events, Description: w.Description,
		Enabled: w.Enabled, DisabledReason: w.DisabledReason, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// createdWebhookJSON is the answer to a creation: the only one that holds the secret.
type createdWebhookJSON struct {
	webhookJSON
	Secret string `json:"secret"`
}

type deliveryJSON struct {
	ID             int64                `json:"id"`
	WebhookID      uuid.UUID            `json:"webhook_id"`
	MessageID      uuid.UUID            `json:"message_id"`
	Type           gallery.WebhookEvent `json:"type"`
	Status         string               `json:"status"`
	Attempts       int                  `json:"attempts"`
	LastStatusCode *int                 `json:"last_status_code"`
	LastError      string               `json:"last_error"`
	LastAttemptAt  *time.Time           `json:"last_attempt_at"`
	NextAttemptAt  *time.Time           `json:"next_attempt_at"`
	DeliveredAt    *time.Time           `json:"delivered_at"`
	CreatedAt      time.Time            `json:"created_at"`
	Payload        any                  `json:"payload"`
}

func toDeliveryJSON(d gallery.WebhookDelivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, WebhookID: d.WebhookID, MessageID: d.MessageID, Type: d.Type, Status: string(d.Status),
		Attempts: d.Attempts, LastError: d.LastError, LastAttemptAt: d.LastAttemptAt, NextAttemptAt: d.NextAttemptAt,
		DeliveredAt: d.DeliveredAt, CreatedAt: d.CreatedAt, Payload: d.Payload}
	if d.LastStatusCode != 0 {
		out.LastStatusCode = &d.LastStatusCode
	}
	return out
}

// webhooksOn answers 404 when this server keeps no webhooks.
func (s *Server) webhooksOn(w http.ResponseWriter, r *http.Request) bool {
	if s.Webhooks == nil {
		s.writeError(w, r, gallery.Errorf(gallery.ENOTFOUND, "webhooks are not served here"))
		return false
	}
	return true
}

// checkWebhookURL refuses a URL that the delivery client would refuse before connecting. The
// address it names is checked on every connection (a private address is refused then).
func checkWebhookURL(raw string) (string, error) {
	if _, err := checkText("url", raw, gallery.MaxWebhookURLLength); err != nil {
		return "", err
	}
	u, err := safehttp.CheckURL(raw)
	if err != nil {
		return "", &gallery.Error{Code: gallery.EINVALID, Message: "url must be an http or https URL with a host and no credentials", Err: err}
	}
	return u.String(), nil
}

// checkWebhookEvents refuses an empty list or an unknown type, and drops repeats.
func checkWebhookEvents(events []string) ([]gallery.WebhookEvent, error) {
	if len(events) == 0 {
		return nil, gallery.Errorf(gallery.EINVALID, "events must name at least one of %v", gallery.WebhookEvents)
	}
	var out []gallery.WebhookEvent
	for _, e := range events {
		ev := gallery.WebhookEvent(e)
		if !ev.Valid() {
			return nil, gallery.Errorf(gallery.EINVALID, "%q is not an event; events are %v", e, gallery.WebhookEvents)
		}
		if !slices.Contains(out, ev) {
			out = append(out, ev)
		}
	}
	return out, nil
}

// createWebhook registers an endpoint and answers its signing secret, once. A supplier's
// endpoint receives the events of its own products; the service role may register one for a
// supplier (supplier_id) or a global one (no supplier_id), which receives every supplier's.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var body struct {
		URL         string     `json:"url"`
		Events      []string   `json:"events"`
		Description string     `json:"description"`
		SupplierID  *uuid.UUID `json:"supplier_id"`
	}
	if !s.webhooksOn(w, r) {
		return
	}
	if _, ok := s.beginWrite(w, r, "", &body); !ok {
		return
	}
	hook := gallery.Webhook{SupplierID: body.SupplierID}
	var err error
	if hook.URL, err = checkWebhookURL(body.URL); err != nil {
		s.writeError(w, r, err)
		return
	}
	if hook.Events, err = checkWebhookEvents(body.Events); err != nil {
		s.writeError(w, r, err)
		return
	}
	if hook.Description, err = checkText("description", body.Description, gallery.MaxWebhookDescriptionLength); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.caller(r).Role == gallery.RoleAuthenticated {
		acting, canWrite, err := s.Gallery.ActingSupplier(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if (hook.SupplierID != nil && *hook.SupplierID != acting) || !canWrite {
			s.writeError(w, r, gallery.Errorf(gallery.EFORBIDDEN, "a user registers webhooks only for the supplier it acts for, and not as a viewer of its team; global webhooks need the service role"))
			return
		}
		hook.SupplierID = &acting
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	secret := gallery.NewWebhookSecret()
	hook, err = s.Webhooks.CreateWebhook(r.Context(), hook, secret, s.webhookLimit())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/webhooks/"+hook.ID.String())
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, createdWebhookJSON{webhookJSON: toWebhookJSON(hook), Secret: secret})
}

func (s *Server) webhookLimit() int {
	if s.WebhooksPerOwner > 0 {
		return s.WebhooksPerOwner
	}
	return gallery.DefaultWebhooksPerOwner
}

// listWebhooks answers the caller's endpoints: a supplier's own; for the service role, the
// global ones, or a supplier's with ?supplier_id=.
func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	if !s.webhooksOn(w, r) || !s.requireSignedIn(w, r) {
		return
	}
	caller := s.caller(r)
	var owner *uuid.UUID
	if v := r.URL.Query().Get("supplier_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "supplier_id %q is not a valid id", v))
			return
		}
		owner = &id
	}
	if caller.Role == gallery.RoleAuthenticated {
		acting, _, err := s.Gallery.ActingSupplier(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if owner != nil && *owner != acting {
			s.writeError(w, r, gallery.Errorf(gallery.EFORBIDDEN, "a user lists the webhooks of the supplier it acts for only"))
			return
		}
		owner = &acting
	}
	hooks, err := s.Webhooks.Webhooks(r.Context(), owner)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Webhooks []webhookJSON `json:"webhooks"`
	}{Webhooks: make([]webhookJSON, 0, len(hooks))}
	for _, h := range hooks {
		out.Webhooks = append(out.Webhooks, toWebhookJSON(h))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	if !s.webhooksOn(w, r) || !s.requireSignedIn(w, r) {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	hook, err := s.Webhooks.Webhook(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(hook))
}

// patchWebhook changes an endpoint's url, events, description, or enables or disables it.
func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request) {
	var body struct {
		URL         *string  `json:"url"`
		Events      []string `json:"events"`
		Description *string  `json:"description"`
		Enabled     *bool    `json:"enabled"`
	}
	if !s.webhooksOn(w, r) {
		return
	}
	id, ok := s.beginWrite(w, r, "id", &body)
	if !ok {
		return
	}
	var change gallery.WebhookChange
	var err error
	if body.URL == nil && body.Events == nil && body.Description == nil && body.Enabled == nil {
		s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "nothing to change: send url, events, description and/or enabled"))
		return
	}
	if body.URL != nil {
		u, err := checkWebhookURL(*body.URL)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		change.URL = &u
	}
	if body.Events != nil {
		if change.Events, err = checkWebhookEvents(body.Events); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if body.Description != nil {
		d, err := checkText("description", *body.Description, gallery.MaxWebhookDescriptionLength)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		change.Description = &d
	}
	change.Enabled = body.Enabled
	if !s.limit(w, r, writeBudget) {
		return
	}
	hook, err := s.Webhooks.UpdateWebhook(r.Context(), id, change)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(hook))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if !s.webhooksOn(w, r) {
		return
	}
	id, ok := s.beginWrite(w, r, "id", nil)
	if !ok || !s.limit(w, r, writeBudget) {
		return
	}
	if err := s.Webhooks.DeleteWebhook(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listDeliveries answers a page of an endpoint's deliveries, newest first: ?limit= sizes it,
// ?cursor= continues from the page that returned it.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	if !s.webhooksOn(w, r) || !s.requireSignedIn(w, r) {
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	query := r.URL.Query()
	limit := gallery.DefaultDeliveryPage
	if v := query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > gallery.MaxDeliveryPage {
			s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "limit must be a whole number from 1 to %d", gallery.MaxDeliveryPage))
			return
		}
		limit = n
	}
	var before int64
	if v := query.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.writeError(w, r, gallery.Errorf(gallery.EINVALID, "cursor is not one that a previous page returned"))
			return
		}
		before = n
	}
	page, err := s.Webhooks.WebhookDeliveries(r.Context(), id, before, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Deliveries []deliveryJSON `json:"deliveries"`
		NextCursor *string        `json:"next_cursor"`
	}{Deliveries: make([]deliveryJSON, 0, len(page.Deliveries))}
	for _, d := range page.Deliveries {
		out.Deliveries = append(out.Deliveries, toDeliveryJSON(d))
	}
	if page.NextCursor != 0 {
		c := strconv.FormatInt(page.NextCursor, 10)
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
}

// resendDelivery sends a delivery again (the same message and webhook-id), with a fresh set
// of attempts.
func (s *Server) resendDelivery(w http.ResponseWriter, r *http.Request) {
	if !s.webhooksOn(w, r) {
		return
	}
	id, ok := s.beginWrite(w, r, "id", nil)
	if !ok {
		return
	}
	deliveryID, err := strconv.ParseInt(r.PathValue("delivery_id"), 10, 64)
	if err != nil || deliveryID < 1 {
		s.writeError(w, r, gallery.Errorf(gallery.ENOTFOUND, "delivery_id %q is not a valid id", r.PathValue("delivery_id")))
		return
	}
	if !s.limit(w, r, writeBudget) {
		return
	}
	d, err := s.Webhooks.ResendWebhookDelivery(r.Context(), id, deliveryID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, toDeliveryJSON(d))
}
