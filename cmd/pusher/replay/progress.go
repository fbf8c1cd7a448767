package replay

import (
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Progress is told of each message a Send is done with.
type Progress interface {
	// Done reports a message replayed (err nil) or left parked.
	Done(p pipeline.Parked, err error)
	// Close ends the report.
	Close()
}

type nopProgress struct{}

func (nopProgress) Done(pipeline.Parked, error) {}
func (nopProgress) Close()                      {}

// IsTerminal tells whether f is a terminal, where a progress bar can redraw itself.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// NewProgress returns a progress bar on w when it is a terminal, and otherwise a
// Progress that logs a summary line (done, failed, rate) every interval.
func NewProgress(w *os.File, logger *slog.Logger, interval time.Duration) Progress {
	if IsTerminal(w) {
		return newBar(w)
	}
	return &logProgress{logger: logger, interval: interval, start: time.Now(), last: time.Now()}
}

// bar is a progressbar/v3 spinner: a listing does not know its total beforehand.
type bar struct {
	mu           sync.Mutex
	bar          *progressbar.ProgressBar
	done, failed int
}

func newBar(w io.Writer) *bar {
	return &bar{bar: progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("replaying"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("msg"),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { _, _ = io.WriteString(w, "\n") }),
	)}
}

func (b *bar) Done(_ pipeline.Parked, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.failed++
	} else {
		b.done++
	}
	b.bar.Describe(describe(b.done, b.failed))
	_ = b.bar.Add(1)
}

func (b *bar) Close() { _ = b.bar.Finish() }

func describe(done, failed int) string {
	return "replayed " + strconv.Itoa(done) + ", failed " + strconv.Itoa(failed)
}

// logProgress logs what is done every interval, for logs that are not a terminal.
type logProgress struct {
	mu           sync.Mutex
	logger       *slog.Logger
	interval     time.Duration
	start, last  time.Time
	done, failed int
}

func (l *logProgress) Done(_ pipeline.Parked, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed++
	} else {
		l.done++
	}
	if time.Since(l.last) >= l.interval {
		l.last = time.Now()
		l.log("replay progress")
	}
}

func (l *logProgress) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log("replay finished")
}

func (l *logProgress) log(msg string) {
	rate := float64(l.done+l.failed) / max(time.Since(l.start).Seconds(), 1e-9)
	l.logger.Info(msg, "replayed", l.done, "failed", l.failed, "per_second", float64(int(rate*10))/10)
}
