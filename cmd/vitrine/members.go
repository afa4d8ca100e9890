package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/gallery"
)

// membersCommand is `vitrine members add|remove|list`: the teams of suppliers, whose members
// act for the supplier with the Vitrine-Supplier header. It acts as the service role.
func membersCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "remove" && args[0] != "list") {
		fmt.Fprint(stderr, usage)
		return errors.New("members needs add, remove or list")
	}
	var supplier, user, role string
	cfg, err := parseFlags("members "+args[0], args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&supplier, "supplier", "", "the supplier (its id)")
		if args[0] != "list" {
			fs.StringVar(&user, "user", "", "the member (its user id, the sub of its tokens)")
		}
		if args[0] == "add" {
			fs.StringVar(&role, "role", string(gallery.MemberEditor), "editor (reads and changes the supplier's products) or viewer (reads them)")
		}
	})
	if err != nil {
		return err
	}
	var supplierID, userID uuid.UUID
	if supplier != "" || args[0] != "list" {
		if supplierID, err = uuid.Parse(supplier); err != nil {
			return errors.New("-supplier must be a supplier id (UUID)")
		}
	}
	if args[0] != "list" {
		if userID, err = uuid.Parse(user); err != nil {
			return errors.New("-user must be a user id (UUID)")
		}
	}
	a, err := newApp(ctx, cfg, newLogger(cfg, stderr), false)
	if err != nil {
		return err
	}
	defer a.Close()
	switch args[0] {
	case "add":
		m, err := a.db.AddMember(ctx, gallery.Member{SupplierID: supplierID, UserID: userID, Role: gallery.MemberRole(role)})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s is a member of the team of supplier %s as %s\n", m.UserID, m.SupplierID, m.Role)
		return nil
	case "remove":
		if err := a.db.RemoveMember(ctx, supplierID, userID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s is no longer a member of the team of supplier %s\n", userID, supplierID)
		return nil
	}
	list, err := a.db.Members(ctx, supplierID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUPPLIER\tUSER\tROLE\tSINCE")
	for _, m := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.SupplierID, m.UserID, m.Role, m.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}
