from datetime import timedelta

from seva_crm.core.common.security import utcnow


from seva_crm.core.common.enums import Region, Role

CREATE = """mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) {
    customer { id name phone email preferredChannel language tags dateOfBirth deletedAt }
    errors { field code message }
  }
}"""
UPDATE = """mutation($id: ID!, $input: CustomerUpdateInput!) {
  customerUpdate(id: $id, input: $input) { customer { id name phone email tags notes } errors { field code message } }
}"""
LIST = """query($filter: CustomerFilter, $first: Int, $after: String, $last: Int, $before: String,
  $orderBy: CustomerOrder! = CREATED_AT_DESC) {
  customers(filter: $filter, first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    totalCount
    edges { cursor node { id name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def create(api, **fields):
    data = await api.ok(CREATE, input=fields)
    return data["customerCreate"]


async def test_indian_phone_is_stored_in_e164(tenant):
    result = await create(tenant.api, name="Asha Devi", phone="98765 43210", email="Asha@Example.com",
                          tags=["VIP", "walk-in", "vip"], language="HI")
    assert result["errors"] == []
    customer = result["customer"]
    assert customer["phone"] == "+919876543210"
    assert customer["email"] == "Asha@example.com"
    assert customer["tags"] == ["vip", "walk-in"]
    assert (customer["preferredChannel"], customer["language"]) == (None, "HI")  # none: the tenant's channel order


async def test_bangladeshi_phone_is_stored_in_e164(make_tenant):
    bd = await make_tenant(Region.BD)
    result = await create(bd.api, name="Rahim Uddin", phone="01712-345678")
    assert result["customer"]["phone"] == "+8801712345678"


async def test_invalid_fields_are_all_reported_and_nothing_is_written(tenant):
    result = await create(tenant.api, name="", phone="12345", email="not-an-email",
                          dateOfBirth=(utcnow().date() + timedelta(days=1)).isoformat())
    assert result["customer"] is None
    assert {(e["field"], e["code"]) for e in result["errors"]} == {
        ("name", "REQUIRED"), ("phone", "INVALID_PHONE"), ("email", "INVALID_EMAIL"), ("dateOfBirth", "INVALID"),
    }
    listed = await tenant.api.ok(LIST)
    assert listed["customers"]["totalCount"] == 0


async def test_duplicate_phone_names_the_existing_customer(tenant):
    first = await create(tenant.api, name="Ravi Kumar", phone="+91 98765 00001")
    again = await create(tenant.api, name="Someone Else", phone="9876500001")
    assert again["customer"] is None
    [error] = again["errors"]
    assert (error["field"], error["code"]) == ("phone", "DUPLICATE")
    assert "Ravi Kumar" in error["message"] and first["customer"]["id"] in error["message"]


async def test_same_phone_is_fine_in_another_tenant(make_tenant):
    a, b = await make_tenant(), await make_tenant()
    assert (await create(a.api, name="A", phone="9876500002"))["errors"] == []
    assert (await create(b.api, name="B", phone="9876500002"))["errors"] == []


async def test_update_changes_only_given_fields(tenant):
    customer = (await create(tenant.api, name="Meena", phone="9876500003", email="meena@example.com", tags=["a"]))["customer"]
    data = await tenant.api.ok(UPDATE, id=customer["id"], input={"notes": "prefers mornings", "tags": ["b"]})
    updated = data["customerUpdate"]["customer"]
    assert updated["notes"] == "prefers mornings"
    assert updated["tags"] == ["b"]
    assert (updated["name"], updated["phone"], updated["email"]) == ("Meena", "+919876500003", "meena@example.com")
    cleared = await tenant.api.ok(UPDATE, id=customer["id"], input={"email": None})
    assert cleared["customerUpdate"]["customer"]["email"] is None


async def test_update_to_a_taken_phone_is_refused(tenant):
    await create(tenant.api, name="One", phone="9876500004")
    two = (await create(tenant.api, name="Two", phone="9876500005"))["customer"]
    data = await tenant.api.ok(UPDATE, id=two["id"], input={"phone": "9876500004"})
    assert data["customerUpdate"]["errors"][0]["code"] == "DUPLICATE"


async def test_soft_delete_hides_and_restore_brings_back(tenant):
    customer = (await create(tenant.api, name="Gone Soon"))["customer"]
    deleted = await tenant.api.ok("mutation($id: ID!) { customerDelete(id: $id) { customer { deletedAt } errors { code } } }",
                                  id=customer["id"])
    assert deleted["customerDelete"]["customer"]["deletedAt"] is not None
    assert (await tenant.api.ok(LIST))["customers"]["totalCount"] == 0
    trash = await tenant.api.ok(LIST, filter={"deleted": True})
    assert [e["node"]["id"] for e in trash["customers"]["edges"]] == [customer["id"]]
    await tenant.api.ok("mutation($id: ID!) { customerRestore(id: $id) { customer { deletedAt } errors { code } } }", id=customer["id"])
    assert (await tenant.api.ok(LIST))["customers"]["totalCount"] == 1


async def test_keyset_pages_forward_and_back_without_gaps(tenant):
    for i in range(7):
        await create(tenant.api, name=f"Customer {i}")
    seen, after = [], None
    while True:
        page = (await tenant.api.ok(LIST, first=3, after=after, orderBy="NAME_ASC"))["customers"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"Customer {i}" for i in range(7)]
    back = (await tenant.api.ok(LIST, last=3, before=page["pageInfo"]["startCursor"], orderBy="NAME_ASC"))["customers"]
    assert [e["node"]["name"] for e in back["edges"]] == ["Customer 3", "Customer 4", "Customer 5"]
    assert back["pageInfo"]["hasPreviousPage"] is True


async def test_page_size_is_capped(tenant):
    body = await tenant.api(LIST, first=101)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "100" in body["errors"][0]["message"]


async def test_filters_search_tags_and_created_range(tenant):
    await create(tenant.api, name="Sunita Sharma", phone="9876500006", tags=["vip", "isp"])
    await create(tenant.api, name="Sunil Rao", email="sunil@example.com", tags=["isp"])
    await create(tenant.api, name="Other Person", tags=["vip"])

    async def names(**filter):
        data = await tenant.api.ok(LIST, filter=filter, orderBy="NAME_ASC")
        return [e["node"]["name"] for e in data["customers"]["edges"]]

    assert await names(search="suni") == ["Sunil Rao", "Sunita Sharma"]
    assert await names(search="500006") == ["Sunita Sharma"]
    assert await names(tags=["isp", "vip"]) == ["Sunita Sharma"]
    assert await names(tags=["VIP"]) == ["Other Person", "Sunita Sharma"]
    assert await names(phone="98765 00006") == ["Sunita Sharma"]
    assert await names(email="SUNIL@example.com") == ["Sunil Rao"]
    assert await names(createdAfter="2999-01-01T00:00:00+00:00") == []


async def test_viewer_may_read_but_not_write(tenant):
    viewer = await tenant.api_as(Role.VIEWER)
    body = await viewer(CREATE, input={"name": "X"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await viewer.ok(LIST))["customers"]["totalCount"] == 0


async def test_anonymous_callers_are_refused(app):
    from tests.conftest import Api

    body = await Api(app)(LIST)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await Api(app, "not-a-token")(LIST)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_preferred_channel_is_one_of_the_tenants_channels(tenant):
    """Any channel a plugin the tenant enabled provides, by its id; anything else is a payload
    error naming the field and the channels there are."""
    from seva_crm.core.platform.plugin_settings import update_plugin_settings
    from seva_crm.core.platform.plugins import Plugins, set_plugins
    from tests.channel_plugin import ChannelPlugin, NullChannel

    set_plugins(Plugins(discover=False, extra=(ChannelPlugin([NullChannel("whatsapp"), NullChannel("acme-sms")], plugin_id="acme"),)))
    try:
        chosen = await create(tenant.api, name="Asha Devi", phone="98765 43210", preferredChannel="ACME-SMS")
        assert chosen["errors"] == [] and chosen["customer"]["preferredChannel"] == "acme-sms"
        unknown = await create(tenant.api, name="Ravi", preferredChannel="telegram", email="bad")
        assert unknown["customer"] is None
        errors = {e["field"]: e for e in unknown["errors"]}
        assert set(errors) == {"preferredChannel", "email"}  # reported with the other problems
        assert errors["preferredChannel"]["code"] == "INVALID"
        assert errors["preferredChannel"]["message"] == "unknown channel 'telegram'; available channels: whatsapp, acme-sms"
        cleared = await tenant.api.ok('mutation($id: ID!) { customerUpdate(id: $id, input: {preferredChannel: null}) '
                                      '{ customer { id } errors { field } } }', id=chosen["customer"]["id"])
        assert cleared["customerUpdate"]["errors"] == []
        await update_plugin_settings(tenant.id, "acme", enabled=False)
        refused = await tenant.api.ok('mutation($id: ID!) { customerUpdate(id: $id, input: {preferredChannel: "whatsapp"}) '
                                      '{ customer { id } errors { field message } } }', id=chosen["customer"]["id"])
        assert refused["customerUpdate"]["errors"] == [{
            "field": "preferredChannel",
            "message": "unknown channel 'whatsapp'; no channel is available (enable a plugin that provides one)"}]
    finally:
        set_plugins(None)
