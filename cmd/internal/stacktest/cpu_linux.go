//go:build linux

package stacktest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100 a second
// on every Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// ProcessCPU returns the CPU time (user and system) a running process has spent so
// far, from /proc/PID/stat, to the 10 ms. A benchmark takes it before and after a
// load, so that a child process's start-up is not counted.
func ProcessCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("CPU time of process %d: %w", pid, err)
	}
	// The command name, in parentheses, may hold spaces: the fields count from the
	// last ')'. utime and stime are fields 14 and 15 of the line, 12 and 13 after it.
	i := strings.LastIndex(string(stat), ") ")
	var fields []string
	if i >= 0 {
		fields = strings.Fields(string(stat)[i+2:])
	}
	if len(fields) < 13 {
		return 0, fmt.Errorf("CPU time of process %d: unexpected /proc/%d/stat %q", pid, pid, stat)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("CPU time of process %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// PeakRSS returns the most resident memory a running process has had, in bytes
// (VmHWM of /proc/PID/status).
func PeakRSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS of process %d: %w", pid, err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS of process %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("peak RSS of process %d: no VmHWM in /proc/%d/status", pid, pid)
}

// ChildNamed returns the pid of the child of process pid whose command is name, such
// as the bootstrap the RIE runs. Each thread lists the children it forked, so it reads
// every thread's list.
func ChildNamed(pid int, name string) (int, error) {
	lists, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil || len(lists) == 0 {
		return 0, fmt.Errorf("children of process %d: %v", pid, err)
	}
	var all []string
	for _, list := range lists {
		children, err := os.ReadFile(list)
		if err != nil {
			continue // a thread that ended
		}
		for _, f := range strings.Fields(string(children)) {
			all = append(all, f)
			comm, err := os.ReadFile("/proc/" + f + "/comm")
			if err == nil && strings.TrimSpace(string(comm)) == name {
				return strconv.Atoi(f)
			}
		}
	}
	return 0, fmt.Errorf("process %d has no child %s (children: %v)", pid, name, all)
}
