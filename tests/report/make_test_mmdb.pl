#!/usr/bin/perl
# Writes a small ASN database in MaxMind DB format for asn_db_test.cc.
#   make_test_mmdb.pl OUTPUT.mmdb [ipinfo]
# Default: GeoLite2-ASN fields (autonomous_system_number, autonomous_system_organization).
# "ipinfo": IPinfo's fields (asn = "AS64500", name).
# Needs MaxMind::DB::Writer (Debian: libmaxmind-db-writer-perl); exits 3 when it is missing.
use strict;
use warnings;

my ($out, $style) = @ARGV;
die "usage: $0 OUTPUT.mmdb [ipinfo]\n" unless defined $out;
$style //= 'geolite';

eval { require MaxMind::DB::Writer::Tree; 1 } or do {
  print STDERR "MaxMind::DB::Writer is not installed\n";
  exit 3;
};

my %types = (
  autonomous_system_number       => 'uint32',
  autonomous_system_organization => 'utf8_string',
  asn                            => 'utf8_string',
  name                           => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
  ip_version            => 6,
  record_size           => 24,
  remove_reserved_networks => 0,  # the test ranges are documentation prefixes
  database_type         => $style eq 'ipinfo' ? 'ipinfo asn.mmdb' : 'Test-ASN',
  languages             => ['en'],
  description           => { en => 'breakwater test ASN database' },
  map_key_type_callback => sub { $types{ $_[0] } },
);

sub record {
  my ($asn, $name) = @_;
  return $style eq 'ipinfo'
    ? { asn => "AS$asn", name => $name }
    : { autonomous_system_number => $asn, autonomous_system_organization => $name };
}

$tree->insert_network('203.0.113.0/24',   record(64500, 'EXAMPLE-NET'));
$tree->insert_network('198.51.100.0/25',  record(64501, 'LOWER-HALF'));
$tree->insert_network('198.51.100.128/25', record(64502, 'UPPER-HALF'));
$tree->insert_network('2001:db8:1::/48',  record(64510, 'V6-NET'));

open my $fh, '>:raw', $out or die "cannot write $out: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $out: $!\n";
