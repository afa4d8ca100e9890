// Package sseclient reads server-sent events (text/event-stream), as the tests and the
// benchmark of Vitrine's event streams receive them.
package sseclient

import (
	"bufio"
	"io"
	"strings"
)

// Event is one server-sent event; a comment line is an Event with only Comment set.
type Event struct {
	ID      string
	Event   string
	Data    string
	Comment string
}

// maxLine bounds one line of the stream (an event's data is one line).
const maxLine = 64 << 20

// Read reads events from r and calls fn with each, until fn returns false, r ends or fails;
// it returns r's error (nil at its end or when fn stopped).
func Read(r io.Reader, fn func(Event) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var ev Event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Event != "" || ev.Data != "" {
				if !fn(ev) {
					return nil
				}
			}
			ev = Event{}
		case strings.HasPrefix(line, ":"):
			if !fn(Event{Comment: strings.TrimSpace(strings.TrimPrefix(line, ":"))}) {
				return nil
			}
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				ev.ID = value
			case "event":
				ev.Event = value
			case "data":
				if ev.Data != "" {
					ev.Data += "\n"
				}
				ev.Data += value
			}
		}
	}
	return sc.Err()
}
