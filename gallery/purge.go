package gallery

import "time"

// PurgeRun is one run of the reconciler, which deletes the objects of the store that no row
// refers to and that are older than a grace period. A dry run counts what a real run would
// delete, under Deleted and BytesReclaimed, and deletes nothing.
type PurgeRun struct {
	ID         int64      `json:"id"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// Status is running, completed, failed, or interrupted (the process died during the run).
	Status  string        `json:"status"`
	Trigger string        `json:"trigger"` // command or schedule
	DryRun  bool          `json:"dry_run"`
	Grace   time.Duration `json:"-"`
	Prefix  string        `json:"prefix"`

	ObjectsScanned int64 `json:"objects_scanned"`
	BytesScanned   int64 `json:"bytes_scanned"`
	Referenced     int64 `json:"referenced"`      // objects a row refers to
	Orphans        int64 `json:"orphans"`         // objects no row referred to when they were listed
	TooYoung       int64 `json:"too_young"`       // orphans kept because they are younger than the grace period
	Deleted        int64 `json:"deleted"`         // orphans deleted (a dry run: that would be deleted)
	BytesReclaimed int64 `json:"bytes_reclaimed"` // their size
	// KeptInUse counts orphans that a row had come to refer to by the time of their deletion.
	KeptInUse  int64    `json:"kept_in_use"`
	SampleKeys []string `json:"sample_keys"` // some of the deleted keys
	Error      string   `json:"error,omitempty"`
}

// Purge run statuses and triggers.
const (
	PurgeRunning     = "running"
	PurgeCompleted   = "completed"
	PurgeFailed      = "failed"
	PurgeInterrupted = "interrupted"

	PurgeByCommand  = "command"
	PurgeBySchedule = "schedule"
)
