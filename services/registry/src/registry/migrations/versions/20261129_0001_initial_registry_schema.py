"""initial registry schema"""

from tdi_kit.migration_steps import create_idempotency_keys, create_table, drop_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_idempotency_keys()
    create_table(
        "regions",
        """
        code  str3  pk
        name  str100
        """,
    )
    create_table(
        "territories",
        """
        code                          str16  pk
        name                          str200
        phase                         int    ix
        status                        str16
        search_text                   text
        name_key                      str200 ix
        phase1_overlaps               json
        binome_elected_name           str200 null
        binome_elected_mandate        str200 null
        binome_industrialist_name     str200 null
        binome_industrialist_company  str200 null
        chef_de_projet_name           str200 null
        chef_de_projet_email          str200 null
        chef_de_projet_employer       str200 null
        versioned now
        stored_document
        """,
    )
    create_table(
        "departments",
        """
        code         str3   pk
        name         str100
        region_code  str3   ix
        references region_code -> regions.code
        """,
    )
    create_table(
        "organisations",
        """
        code         str64  pk
        name         str200
        kind         str16  ix
        region_code  str3   null
        siren        str9   null
        website      str300 null
        search_text  str300
        references region_code -> regions.code
        """,
    )
    create_table(
        "territory_communes",
        """
        territory_code  str16  pk
        insee           str5   pk ix
        references territory_code -> territories.code
        """,
    )
    create_table(
        "territory_outlines",
        """
        territory_code  str16  pk
        geometry        text
        references territory_code -> territories.code
        """,
    )
    create_table(
        "territory_regions",
        """
        territory_code  str16  pk
        region_code     str3   pk ix
        references region_code -> regions.code
        references territory_code -> territories.code
        """,
    )
    create_table(
        "groupements",
        """
        siren                 str9   pk
        name                  str200
        kind                  str16  ix
        nature                str8
        seat_department_code  str3   null
        region_code           str3   null ix
        population            int    null
        search_text           str300
        references region_code -> regions.code
        references seat_department_code -> departments.code
        """,
    )
    create_table(
        "territory_departments",
        """
        territory_code   str16  pk
        department_code  str3   pk ix
        references department_code -> departments.code
        references territory_code -> territories.code
        """,
    )
    create_table(
        "territory_referents",
        """
        territory_code     str16  pk
        organisation_code  str64  pk
        name               str200
        email              str200 null
        references organisation_code -> organisations.code
        references territory_code -> territories.code
        """,
    )
    create_table(
        "communes",
        """
        insee            str5   pk
        name             str100
        department_code  str3   ix
        siren            str9   null
        epci_siren       str9   null ix
        population       int    null
        search_text      str200
        references department_code -> departments.code
        references epci_siren -> groupements.siren
        unique siren
        """,
    )
    create_table(
        "groupement_departments",
        """
        siren            str9   pk
        department_code  str3   pk ix
        references department_code -> departments.code
        references siren -> groupements.siren
        """,
    )
    create_table(
        "territory_members",
        """
        territory_code  str16  pk
        siren           str9   pk ix
        phase           int
        coverage        float  null
        references siren -> groupements.siren
        references territory_code -> territories.code
        unique phase, siren
        """,
    )


def downgrade() -> None:
    drop_tables(
        "territory_members",
        "groupement_departments",
        "communes",
        "territory_referents",
        "territory_departments",
        "groupements",
        "territory_regions",
        "territory_outlines",
        "territory_communes",
        "organisations",
        "departments",
        "territories",
        "regions",
        "idempotency_keys",
    )
