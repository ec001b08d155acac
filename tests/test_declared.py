import pytest

from diff_fixtures import evolve, plugin
from insidellms_provenance.analyze._declared import registration_gaps
from insidellms_provenance.field.schema import registry_keys as RegistryKeys  # noqa: N812


@pytest.mark.parametrize(
    ("registered", "replaced", "gaps"),
    [
        (None, None, []),
        (RegistryKeys(models=("m1",), probes=("p1",)), None, []),
        (
            RegistryKeys(models=("m1", "extra"), probes=()),
            None,
            [
                "registered but not declared: models extra",
                "declared but not registered: probes p1",
            ],
        ),
        (RegistryKeys(probes=("p1",)), RegistryKeys(models=("m1",)), []),
    ],
)
def test_registration_gaps(registered, replaced, gaps):
    fingerprint = evolve(plugin("x"), registered=registered, replaced=replaced)
    assert registration_gaps(fingerprint) == gaps


def test_no_declared_capabilities_means_nothing_to_compare():
    fingerprint = plugin("x", registered=RegistryKeys(models=("m",)))
    fingerprint = evolve(fingerprint, manifest=evolve(fingerprint["manifest"], capabilities=None))
    assert registration_gaps(fingerprint) == []
