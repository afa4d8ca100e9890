package postgres

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// eventNotifier sends, for a process, the notifications of the events its own transactions
// commit. Those transactions do not notify inside themselves: a transaction that notifies
// takes PostgreSQL's global notify lock at commit and holds it across its WAL flush, which
// would make every writing commit of the cluster wait for the others. Instead each
// transaction, once committed, hands its product to the notifier, and one goroutine sends one
// pg_notify for everything handed to it since its last one.
type eventNotifier struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	ids  map[uuid.UUID]struct{}
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

// notifyTimeout bounds one pg_notify; a notification that is lost is made up for by the
// readers' periodic re-read.
const notifyTimeout = 5 * time.Second

// maxNotifyIDs is how many ids one payload names (PostgreSQL's payloads hold under 8000
// bytes); past that, the payload is "*".
const maxNotifyIDs = 190

func startEventNotifier(pool *pgxpool.Pool) *eventNotifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &eventNotifier{pool: pool, ids: map[uuid.UUID]struct{}{}, wake: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	go n.run(ctx)
	return n
}

// add hands the notifier a product with newly committed events.
func (n *eventNotifier) add(id uuid.UUID) {
	n.mu.Lock()
	n.ids[id] = struct{}{}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *eventNotifier) run(ctx context.Context) {
	defer close(n.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		n.mu.Lock()
		ids := n.ids
		n.ids = map[uuid.UUID]struct{}{}
		n.mu.Unlock()
		payload := "*"
		if len(ids) <= maxNotifyIDs {
			names := make([]string, 0, len(ids))
			for id := range ids {
				names = append(names, id.String())
			}
			payload = strings.Join(names, ",")
		}
		sctx, cancel := context.WithTimeout(ctx, notifyTimeout)
		_, _ = n.pool.Exec(sctx, `SELECT pg_notify($1, $2)`, EventsChannel, payload)
		cancel()
	}
}

// close stops the notifier's goroutine; it may be called more than once.
func (n *eventNotifier) close() {
	n.stop()
	<-n.done
}

// notify hands the notifier the products of a committed transaction of this DB.
func (db *DB) notify(ids ...uuid.UUID) {
	for _, id := range ids {
		if id != uuid.Nil {
			db.events.add(id)
		}
	}
}
