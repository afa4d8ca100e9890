package s3test

import (
	"os/exec"
	"path/filepath"
	"syscall"
)

// setProcAttr makes the gateway die with the test binary, even when the
// binary exits without calling Stop (a panic, a test timeout).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// xattrSupported reports, with nil, whether dir's file system keeps user
// extended attributes.
func xattrSupported(dir string) error {
	p := filepath.Join(dir, ".xattr-probe")
	if err := syscall.Mkdir(p, 0o755); err != nil {
		return err
	}
	defer syscall.Rmdir(p)
	return syscall.Setxattr(p, "user.vitrine.probe", []byte("1"), 0)
}
