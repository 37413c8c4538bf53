#!/usr/bin/perl
# A second, independent MIME parser for the EML tests (Perl's Email::MIME):
# for each file named on the command line, print one line per part that
# carries a filename: the file, the content type, and the SHA-256 of the
# decoded body. Headers that span more than one logical header (an injected
# line) or a part that fails to decode end the run with status 1.
use strict;
use warnings;
use Email::MIME;
use Digest::SHA qw(sha256_hex);

my $status = 0;
for my $path (@ARGV) {
    open(my $fh, '<:raw', $path) or die "$path: $!\n";
    local $/;
    my $raw = <$fh>;
    close $fh;
    my $mail = eval { Email::MIME->new($raw) };
    if (!$mail) {
        print STDERR "$path: does not parse: $@";
        $status = 1;
        next;
    }
    for my $name (qw(From Date Message-ID Subject)) {
        my @v = $mail->header_raw($name);
        if (@v != 1) {
            print STDERR "$path: $name appears " . scalar(@v) . " times\n";
            $status = 1;
        }
    }
    $mail->walk_parts(sub {
        my ($part) = @_;
        return if $part->subparts;
        my $file = $part->filename or return;
        my $body = eval { $part->body };
        if (!defined $body) {
            print STDERR "$path: a part does not decode: $@";
            $status = 1;
            return;
        }
        my ($type) = split /;/, ($part->content_type // '');
        print "$path\t$type\t" . sha256_hex($body) . "\n";
    });
}
exit $status;
