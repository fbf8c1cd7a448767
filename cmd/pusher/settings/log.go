package settings

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// DefaultLogLevel is the level of LOG_LEVEL when it is not set.
const DefaultLogLevel = "info"

// The formats of LOG_FORMAT.
const (
	// LogText is slog's text format, key=value pairs, for a person at a terminal.
	LogText = "text"
	// LogJSON is one JSON object a line, for a log collector.
	LogJSON = "json"
)

// Log are the settings of a command's logs.
type Log struct {
	// Level is debug, info, warn or error (LOG_LEVEL); default DefaultLogLevel.
	Level string
	// Format is LogText or LogJSON (LOG_FORMAT); empty: text when the logs go to a
	// terminal, JSON otherwise.
	Format string
}

// LogFlags defines the settings of l.
func LogFlags(f *Flags, l *Log) {
	f.String(&l.Level, "log-level", "LOG_LEVEL", DefaultLogLevel, "debug, info, warn or error")
	f.String(&l.Format, "log-format", "LOG_FORMAT", "", "text or json (default: text when stderr is a terminal, else json)")
}

// Validate reports the settings of l that are bad, level before format.
func (l Log) Validate() error {
	var level, format error
	if _, err := parseLevel(l.Level); err != nil {
		level = err
	}
	if l.Format != "" && l.Format != LogText && l.Format != LogJSON {
		format = fmt.Errorf("LOG_FORMAT=%q is not text or json", l.Format)
	}
	return errors.Join(level, format)
}

// Logger returns the logger of l writing to w, in text when l says so, or says nothing
// and w is a terminal; in JSON otherwise.
func (l Log) Logger(w io.Writer) (*slog.Logger, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	level, _ := parseLevel(l.Level)
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == LogText || l.Format == "" && IsTerminal(w) {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

// Logger returns the JSON logger of level (debug, info, warn or error) writing to w:
// the Lambda function's, whose logs always go to CloudWatch.
func Logger(w io.Writer, level string) (*slog.Logger, error) {
	return Log{Level: level, Format: LogJSON}.Logger(w)
}

// IsTerminal reports whether w is a terminal: a file that is a character device. (So
// is /dev/null, which takes either format alike.)
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("LOG_LEVEL=%q is not debug, info, warn or error", s)
	}
	return l, nil
}
