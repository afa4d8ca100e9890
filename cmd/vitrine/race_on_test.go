//go:build race

package main

// raceDetector reports whether the tests run with the race detector, which (Go's
// documentation says) multiplies memory use by 5 to 10: a bound on a served process's memory
// growth is then multiplied by 10.
const raceDetector = true
