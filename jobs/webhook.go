package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/internal/safehttp"
)

// WebhookDB is what the webhook workers need of the database; the PostgreSQL adapter
// implements it.
type WebhookDB interface {
	// WebhookTarget returns what sending a delivery needs, or a not-found error when the
	// delivery is gone with its endpoint.
	WebhookTarget(ctx context.Context, deliveryID int64) (gallery.WebhookTarget, error)
	// RecordWebhookAttempt records the outcome of one attempt.
	RecordWebhookAttempt(ctx context.Context, deliveryID int64, a gallery.WebhookAttempt) error
	// ScheduleWebhookDeliveries gives jobs to the deliveries that have none.
	ScheduleWebhookDeliveries(ctx context.Context) (int, error)
	// ExpireWebhookMessages deletes the old messages that nothing waits to send.
	ExpireWebhookMessages(ctx context.Context) (int64, error)
}

// Webhook delivery defaults.
const (
	// DefaultWebhookResponseBytes is how much of an answer's body a delivery reads.
	DefaultWebhookResponseBytes = 64 << 10
	// webhookErrorBytes is how much of a failed answer's body is kept as its error.
	webhookErrorBytes = 256
	// webhookRetryCap bounds one wait between attempts.
	webhookRetryCap = 6 * time.Hour
)

// WebhookWorker sends webhook deliveries, signed as Standard Webhooks says: the headers
// webhook-id (the message's id, the same on every attempt and on a resend), webhook-timestamp
// and webhook-signature. An answer 2xx delivers; any other answer or error is retried with
// exponential backoff (RetryBase, doubling) until the job's attempts run out, when the
// delivery is failed. A target that answers 410 Gone has its endpoint disabled, and one the
// client may not reach (a private address, see safehttp) fails at once.
type WebhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	DB WebhookDB
	// Client sends the requests; it must refuse what safehttp refuses (NewWebhookClient).
	Client *http.Client
	// AttemptTimeout bounds one attempt, from the connection to the end of the answer's body.
	AttemptTimeout time.Duration
	// RetryBase is the wait before the second attempt; each next wait doubles.
	RetryBase time.Duration
	// MaxResponseBytes is how much of an answer's body is read; the rest is not.
	MaxResponseBytes int64
	// Hosts bounds the attempts in flight to one host in this process.
	Hosts  *HostSlots
	Logger *slog.Logger
}

// NewWebhookClient returns the client of webhook deliveries: safehttp's, which dials only
// addresses its rules allow (or allowHosts), following no redirect (a 3xx is a failed attempt).
func NewWebhookClient(allowHosts []string, timeout time.Duration) *http.Client {
	c := safehttp.NewClient(safehttp.Options{
		AllowHosts: allowHosts, ConnectTimeout: min(timeout, 5*time.Second), HeaderTimeout: timeout,
		UserAgent: "Vitrine-Webhooks",
	})
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// NextRetry waits RetryBase, then twice as long after each further attempt, up to six hours,
// with ±10% jitter (the policy of Vitrine's other jobs, with its own base and limit).
func (w *WebhookWorker) NextRetry(job *river.Job[WebhookArgs]) time.Time {
	return backoff{base: w.RetryBase, limit: webhookRetryCap}.NextRetry(job.JobRow)
}

// Timeout is River's limit of one attempt: the request's own, and time to record it.
func (w *WebhookWorker) Timeout(*river.Job[WebhookArgs]) time.Duration {
	return w.AttemptTimeout + 30*time.Second
}

// hostBusySnooze is how long a delivery to a host whose slots are taken waits before trying
// again; snoozing costs no attempt.
const hostBusySnooze = time.Second

// Work makes one attempt at a delivery.
func (w *WebhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	log := w.Logger.With("job_id", job.ID, "delivery_id", job.Args.DeliveryID, "attempt", job.Attempt)
	t, err := w.DB.WebhookTarget(ctx, job.Args.DeliveryID)
	switch {
	case gallery.ErrorCode(err) == gallery.ENOTFOUND:
		log.InfoContext(ctx, "webhook delivery has nothing to do", "reason", "endpoint deleted")
		return nil
	case err != nil:
		return err
	case t.Status != gallery.DeliveryPending:
		log.InfoContext(ctx, "webhook delivery has nothing to do", "reason", "already "+string(t.Status))
		return nil
	case !t.Enabled:
		return w.record(ctx, job, gallery.WebhookAttempt{Error: "the endpoint is disabled", Final: true})
	}
	u, err := safehttp.CheckURL(t.URL)
	if err != nil {
		return w.record(ctx, job, gallery.WebhookAttempt{Error: err.Error(), Final: true})
	}
	release, ok := w.Hosts.acquire(u.Host)
	if !ok {
		return river.JobSnooze(hostBusySnooze + rand.N(hostBusySnooze))
	}
	defer release()
	a := w.send(ctx, t, u)
	a.Final = a.Final || (!a.Delivered && job.Attempt >= job.MaxAttempts)
	if err := w.record(ctx, job, a); err != nil {
		return err
	}
	switch {
	case a.Delivered:
		log.InfoContext(ctx, "webhook delivered", "status", a.StatusCode)
		return nil
	case a.Gone:
		log.WarnContext(ctx, "webhook target is gone: endpoint disabled", "status", a.StatusCode)
		return nil
	default:
		return errors.New(a.Error) // River retries it, or discards it after the last attempt
	}
}

// record records an attempt; a failure to do so fails the job (it is retried).
func (w *WebhookWorker) record(ctx context.Context, job *river.Job[WebhookArgs], a gallery.WebhookAttempt) error {
	a.Attempt = job.Attempt
	if err := w.DB.RecordWebhookAttempt(ctx, job.Args.DeliveryID, a); err != nil {
		return err
	}
	if a.Final && !a.Delivered {
		if a.Gone {
			return nil
		}
		return river.JobCancel(errors.New(a.Error)) // no attempt follows
	}
	return nil
}

// send makes the request and reads at most MaxResponseBytes of its answer.
func (w *WebhookWorker) send(ctx context.Context, t gallery.WebhookTarget, u *url.URL) gallery.WebhookAttempt {
	wh, err := standardwebhooks.NewWebhook(t.Secret)
	if err != nil {
		return gallery.WebhookAttempt{Error: "the endpoint's secret is not valid"}
	}
	msgID := t.MessageID.String()
	now := time.Now()
	sig, err := wh.Sign(msgID, now, t.Payload)
	if err != nil {
		return gallery.WebhookAttempt{Error: "signing failed"}
	}
	ctx, cancel := context.WithTimeout(ctx, w.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(t.Payload))
	if err != nil {
		return gallery.WebhookAttempt{Error: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(standardwebhooks.HeaderWebhookID, msgID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := w.Client.Do(req)
	if err != nil {
		a := gallery.WebhookAttempt{Error: attemptError(err)}
		// An address the rules refuse stays refused: no retry.
		a.Final = errors.Is(err, safehttp.ErrForbiddenAddress) || errors.Is(err, safehttp.ErrScheme)
		if a.Final {
			a.Error = "the target's address is not allowed: " + a.Error
		}
		return a
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, w.MaxResponseBytes))
	a := gallery.WebhookAttempt{StatusCode: resp.StatusCode}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		a.Delivered = true
	case resp.StatusCode == http.StatusGone:
		a.Gone, a.Final = true, true
		a.Error = "410 Gone"
	default:
		a.Error = fmt.Sprintf("%d %s", resp.StatusCode, snippet(body))
		if readErr != nil {
			a.Error += " (reading the answer: " + attemptError(readErr) + ")"
		}
	}
	return a
}

// attemptError is an error's text, bounded.
func attemptError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return snippet([]byte(err.Error()))
}

// snippet is at most webhookErrorBytes of b, as text.
func snippet(b []byte) string {
	if len(b) > webhookErrorBytes {
		b = b[:webhookErrorBytes]
	}
	return string(bytes.ToValidUTF8(bytes.TrimSpace(b), nil))
}

// WebhookSweepWorker gives jobs to the deliveries that other writers recorded, and expires
// old messages.
type WebhookSweepWorker struct {
	river.WorkerDefaults[WebhookSweepArgs]
	DB     WebhookDB
	Logger *slog.Logger
}

// Work schedules the deliveries without a job, then expires old messages.
func (w *WebhookSweepWorker) Work(ctx context.Context, job *river.Job[WebhookSweepArgs]) error {
	n, err := w.DB.ScheduleWebhookDeliveries(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		w.Logger.InfoContext(ctx, "webhook deliveries scheduled by the sweep", "job_id", job.ID, "count", n)
	}
	expired, err := w.DB.ExpireWebhookMessages(ctx)
	if err != nil {
		return err
	}
	if expired > 0 {
		w.Logger.InfoContext(ctx, "old webhook messages deleted", "job_id", job.ID, "count", expired)
	}
	return nil
}
