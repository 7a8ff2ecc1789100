#!/usr/bin/perl
# boottest-printer.pl - test-only (image/boottest-printer.sh): the printer's side of the USB
# printer gadget. Reads what the appliance sends through usblp (/dev/g_printer0), appends it
# to DIR/received.bin, and answers each ESC/POS real-time status request (DLE EOT n, n = 1, 2,
# 4) with the byte a printer in DIR/mode (ready | paper-out | cover-open | silent) sends —
# the same bytes as the pty emulator in tests/it/printer.rs. Raster data (GS v 0) is skipped
# by its length, so image bytes that happen to read DLE EOT are not taken for requests.
# perl-base only (the image has no Python).
use strict;
use warnings;
use Fcntl;

my ($dev, $dir) = @ARGV;
sysopen(my $fh, $dev, O_RDWR) or die "open $dev: $!\n";
my %answers = (
    'ready'      => { 1 => 0x12, 2 => 0x12, 4 => 0x12 },
    'paper-out'  => { 1 => 0x1a, 2 => 0x32, 4 => 0x72 },
    'cover-open' => { 1 => 0x1a, 2 => 0x16, 4 => 0x12 },
);
my $pending = '';    # bytes not yet parsed (a command cut between two reads)
my $skip = 0;        # raster bytes still to pass over
while (1) {
    my $got = sysread($fh, my $buf, 65536);
    die "read $dev: $!\n" unless defined $got;
    next if $got == 0;
    open(my $out, '>>:raw', "$dir/received.bin") or die "$dir/received.bin: $!\n";
    print $out $buf;
    close $out;
    $pending .= $buf;
    my $mode = 'ready';
    if (open(my $m, '<', "$dir/mode")) { $mode = <$m> // 'ready'; chomp $mode; close $m; }
    my $reply = '';
    while (length $pending) {
        if ($skip) {
            my $n = $skip < length $pending ? $skip : length $pending;
            substr($pending, 0, $n, '');
            $skip -= $n;
            next;
        }
        my $c = ord $pending;
        if ($c == 0x10) {    # DLE EOT n
            last if length $pending < 3;
            my ($eot, $n) = unpack('x C C', $pending);
            if ($eot == 0x04 && $answers{$mode} && exists $answers{$mode}{$n}) {
                $reply .= chr $answers{$mode}{$n};
            }
            substr($pending, 0, 3, '');
        } elsif ($c == 0x1d) {    # GS v 0 m xL xH yL yH, then xL+256xH times yL+256yH bytes
            last if length $pending < 8;
            my ($v, $zero, undef, $xl, $xh, $yl, $yh) = unpack('x C7', $pending);
            if ($v == 0x76 && $zero == 0x30) {
                $skip = ($xl + 256 * $xh) * ($yl + 256 * $yh);
                substr($pending, 0, 8, '');
            } else {
                substr($pending, 0, 1, '');
            }
        } else {
            substr($pending, 0, 1, '');
        }
    }
    syswrite($fh, $reply) if length $reply;
}
