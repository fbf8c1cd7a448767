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
	// Done reports a message replayed, and what became of it.
	Done(p pipeline.Parked, o Outcome)
	// Close ends the report.
	Close()
}

type nopProgress struct{}

func (nopProgress) Done(pipeline.Parked, Outcome) {}
func (nopProgress) Close()                        {}

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
	mu  sync.Mutex
	bar *progressbar.ProgressBar
	rep Report
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

func (b *bar) Done(_ pipeline.Parked, o Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rep.add(o)
	b.bar.Describe(describe(b.rep))
	_ = b.bar.Add(1)
}

func (b *bar) Close() { _ = b.bar.Finish() }

// describe names the counts that matter while a send runs: what left the queue, and
// what stays in it.
func describe(r Report) string {
	return "delivered " + strconv.Itoa(r.Delivered) + ", pruned " + strconv.Itoa(r.Pruned) +
		", connecting " + strconv.Itoa(r.Connecting) + ", parked again " + strconv.Itoa(r.ParkedAgain) +
		", failed " + strconv.Itoa(r.Failed)
}

// logProgress logs what is done every interval, for logs that are not a terminal.
type logProgress struct {
	mu          sync.Mutex
	logger      *slog.Logger
	interval    time.Duration
	start, last time.Time
	rep         Report
	done        int
}

func (l *logProgress) Done(_ pipeline.Parked, o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rep.add(o)
	l.done++
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
	rate := float64(l.done) / max(time.Since(l.start).Seconds(), 1e-9)
	l.logger.Info(msg, "done", l.done, "delivered", l.rep.Delivered, "pruned", l.rep.Pruned, "connecting", l.rep.Connecting,
		"parked_again", l.rep.ParkedAgain, "failed", l.rep.Failed, "per_second", float64(int(rate*10))/10)
}
