package solution

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
)

// Package describes a solution package to build.
type Package struct {
	UniqueName   string
	FriendlyName string
	Version      string
	Managed      bool
	Publisher    string
	// Dependencies are solution unique names, optionally with " (version)".
	Dependencies []string
}

// Build writes a small valid solution package: solution.xml, customizations.xml and
// [Content_Types].xml. Tests and the demo use it, since no public source ships the
// Business Central integration solution.
func Build(p Package) ([]byte, error) {
	if p.UniqueName == "" {
		return nil, errors.New("a solution package needs a unique name")
	}
	v, err := ParseVersion(p.Version)
	if err != nil {
		return nil, err
	}
	// The canonical form: ParseVersion forgives surrounding whitespace, which XML cannot
	// always carry (a vertical tab becomes U+FFFD, and the package would not read back).
	p.Version = v.String()
	if p.FriendlyName == "" {
		p.FriendlyName = p.UniqueName
	}
	if p.Publisher == "" {
		p.Publisher = "bcconnect"
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := []struct{ name, body string }{
		{"[Content_Types].xml", contentTypes},
		{"solution.xml", solutionManifest(p)},
		{"customizations.xml", customizations},
	}
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", f.name, err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			return nil, fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("closing the package: %w", err)
	}
	return buf.Bytes(), nil
}

func solutionManifest(p Package) string {
	managed := "0"
	if p.Managed {
		managed = "1"
	}
	var deps bytes.Buffer
	for _, d := range p.Dependencies {
		fmt.Fprintf(&deps, `<MissingDependency><Required type="1" schemaName="account" solution="%s" /><Dependent type="2" schemaName="nav_connection" /></MissingDependency>`, escape(d))
	}
	return fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml version="9.2.24101.140" SolutionPackageVersion="9.2" languagecode="1033" generatedBy="CrmLive">
  <SolutionManifest>
    <UniqueName>%s</UniqueName>
    <LocalizedNames><LocalizedName description="%s" languagecode="1033" /></LocalizedNames>
    <Descriptions />
    <Version>%s</Version>
    <Managed>%s</Managed>
    <Publisher><UniqueName>%s</UniqueName></Publisher>
    <RootComponents />
    <MissingDependencies>%s</MissingDependencies>
  </SolutionManifest>
</ImportExportXml>
`, escape(p.UniqueName), escape(p.FriendlyName), escape(p.Version), managed, escape(p.Publisher), deps.String())
}

func escape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const contentTypes = `<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/octet-stream" /></Types>
`

const customizations = `<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Entities /><Roles /><Workflows /><FieldSecurityProfiles /><Templates /><EntityMaps /><EntityRelationships /><OrganizationSettings /><optionsets /><Languages><Language>1033</Language></Languages></ImportExportXml>
`
