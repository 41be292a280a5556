// The pod sandbox's pause process: holds the pod's namespaces open, reaps the zombies it inherits as
// PID 1, and exits on SIGINT or SIGTERM. Built statically (CGO_ENABLED=0) into the pause image.
//
// `-v` prints a version and exits 0, as the upstream pause does: kubeadm's upgrade health check
// ("CreateJob") runs the pause image with `-v` as a Job and waits for it to complete, so a pause that
// ignored its arguments failed every `kubeadm upgrade apply` (seen on the first real upgrade).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const version = "nkd-pause 2"

func main() {
	for _, arg := range os.Args[1:] {
		if strings.EqualFold(arg, "-v") {
			fmt.Println(version)
			return
		}
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			reapChildren()
			continue
		}
		os.Exit(0)
	}
}

// reapChildren collects every exited child without blocking: orphans re-parented to PID 1 end here.
func reapChildren() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
