//go:build linux

package scalesim

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// pty is one pseudo-terminal pair: the simulator talks through the master,
// the adapter under test opens the slave by name as if it were a serial port.
type pty struct {
	master    *os.File
	slave     *os.File // held open so the master never sees EIO while no adapter has the port open
	slavePath string
}

// openPTY creates a pseudo-terminal with the slave in raw mode, so that CR
// and LF pass through untranslated and nothing is echoed back to the master.
func openPTY() (*pty, error) {
	// O_NONBLOCK makes os.NewFile register the master with the runtime
	// poller, so that closing it unblocks a pending Read.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pty number: %w", err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	slavePath := fmt.Sprintf("/dev/pts/%d", n)

	sfd, err := unix.Open(slavePath, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("open %s: %w", slavePath, err)
	}
	if err := makeRaw(sfd); err != nil {
		unix.Close(sfd)
		master.Close()
		return nil, fmt.Errorf("raw mode on %s: %w", slavePath, err)
	}
	return &pty{master: master, slave: os.NewFile(uintptr(sfd), slavePath), slavePath: slavePath}, nil
}

// makeRaw does what cfmakeraw(3) does.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// close hangs up the line: the adapter's next read or write on the slave
// fails, as it would when a cable is pulled.
func (p *pty) close() error {
	errSlave := p.slave.Close()
	errMaster := p.master.Close()
	if errMaster != nil {
		return errMaster
	}
	return errSlave
}
