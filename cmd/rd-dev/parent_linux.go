package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// stopWithParent asks the kernel to send SIGTERM when the process that
// started us (go-task) dies, so a forced `task` exit never leaves the dev
// stack running on its own.
func stopWithParent() {
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0)
}
