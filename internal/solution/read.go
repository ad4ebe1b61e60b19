package solution

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxManifestSize bounds solution.xml, so a hostile package cannot exhaust memory.
const MaxManifestSize = 16 << 20

// Manifest is what solution.xml says about a package.
type Manifest struct {
	UniqueName          string
	FriendlyName        string
	Version             Version
	Managed             bool
	PublisherUniqueName string
	// Dependencies are the solutions the package requires, from its MissingDependencies.
	Dependencies []Dependency
}

// Dependency is a solution a package requires.
type Dependency struct {
	SolutionUniqueName string
	// Version is the minimum version, when the package says one.
	Version string
}

// solutionXML is the part of solution.xml the operator reads. A package lists what it
// requires from outside itself as
//
//	<MissingDependencies>
//	  <MissingDependency>
//	    <Required type="1" schemaName="account" solution="bcbi_CdsBaseIntegration (1.0.0.0)" />
//	    <Dependent type="2" schemaName="nav_connection" />
//	  </MissingDependency>
//	</MissingDependencies>
type solutionXML struct {
	XMLName  xml.Name `xml:"ImportExportXml"`
	Manifest struct {
		UniqueName     string `xml:"UniqueName"`
		LocalizedNames struct {
			Names []struct {
				Description string `xml:"description,attr"`
			} `xml:"LocalizedName"`
		} `xml:"LocalizedNames"`
		Version   string `xml:"Version"`
		Managed   string `xml:"Managed"`
		Publisher struct {
			UniqueName string `xml:"UniqueName"`
		} `xml:"Publisher"`
		MissingDependencies struct {
			Items []struct {
				Required struct {
					Solution string `xml:"solution,attr"`
				} `xml:"Required"`
			} `xml:"MissingDependency"`
		} `xml:"MissingDependencies"`
	} `xml:"SolutionManifest"`
}

// Read returns the manifest of a solution package.
func Read(pkg []byte) (Manifest, error) {
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return Manifest{}, fmt.Errorf("the solution package is not a zip file: %w", err)
	}
	var f *zip.File
	for _, zf := range zr.File {
		if strings.EqualFold(zf.Name, "solution.xml") {
			f = zf
			break
		}
	}
	if f == nil {
		return Manifest{}, errors.New("the solution package has no solution.xml at its top level")
	}
	rc, err := f.Open()
	if err != nil {
		return Manifest{}, fmt.Errorf("opening solution.xml: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxManifestSize+1))
	if err != nil {
		return Manifest{}, fmt.Errorf("reading solution.xml: %w", err)
	}
	if len(data) > MaxManifestSize {
		return Manifest{}, fmt.Errorf("solution.xml is larger than %d bytes", MaxManifestSize)
	}
	return parseManifest(data)
}

func parseManifest(data []byte) (Manifest, error) {
	var doc solutionXML
	if err := xml.Unmarshal(data, &doc); err != nil {
		return Manifest{}, fmt.Errorf("solution.xml is not a solution manifest: %w", err)
	}
	sm := doc.Manifest
	m := Manifest{
		UniqueName:          strings.TrimSpace(sm.UniqueName),
		PublisherUniqueName: strings.TrimSpace(sm.Publisher.UniqueName),
	}
	if m.UniqueName == "" {
		return Manifest{}, errors.New("solution.xml has no SolutionManifest/UniqueName")
	}
	if len(sm.LocalizedNames.Names) > 0 {
		m.FriendlyName = sm.LocalizedNames.Names[0].Description
	}
	v, err := ParseVersion(sm.Version)
	if err != nil {
		return Manifest{}, fmt.Errorf("solution.xml SolutionManifest/Version: %w", err)
	}
	m.Version = v
	switch strings.TrimSpace(sm.Managed) {
	case "1", "true":
		m.Managed = true
	case "0", "false", "":
	default:
		return Manifest{}, fmt.Errorf("solution.xml SolutionManifest/Managed is %q, want 0 or 1", sm.Managed)
	}
	seen := map[string]bool{}
	for _, item := range sm.MissingDependencies.Items {
		dep := parseDependency(item.Required.Solution)
		if dep.SolutionUniqueName == "" || seen[dep.SolutionUniqueName] {
			continue
		}
		seen[dep.SolutionUniqueName] = true
		m.Dependencies = append(m.Dependencies, dep)
	}
	return m, nil
}

// parseDependency reads "name (1.0.0.0)" or "name".
func parseDependency(s string) Dependency {
	s = strings.TrimSpace(s)
	name, rest, found := strings.Cut(s, " (")
	if !found {
		return Dependency{SolutionUniqueName: s}
	}
	return Dependency{SolutionUniqueName: name, Version: strings.TrimSuffix(rest, ")")}
}
