"""Column mapping: which source header holds which canonical field.

Proposals come from synonyms in English, French, Italian, Spanish and
German and from common export layouts (Online Retail's ``InvoiceNo``,
``StockCode``, ``UnitPrice``, ``Customer ID``...); canonical names are
recognised as themselves. A confirmed mapping is remembered per workspace
and kind under a signature of the headers (``saved_mappings``).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

from crm_core.ingest.errors import MappingError, MissingColumns

KINDS = ("transactions", "customers", "products", "holdings", "outcomes")

FIELDS: dict[str, tuple[str, ...]] = {
    "transactions": ("customer_id", "invoice_id", "invoice_date", "product_id", "product_name", "category",
                     "quantity", "unit_price", "amount", "channel"),
    "customers": ("customer_id", "first_name", "last_name", "email", "phone", "birth_date", "region", "city",
                  "tags", "email_opt_in", "do_not_contact", "last_contacted_at", "effective_date"),
    "products": ("product_id", "name", "family", "price", "unit_cost", "margin", "active", "aliases"),
    "holdings": ("customer_id", "product_id", "opened_at", "closed_at", "balance"),
    "outcomes": ("customer_id", "reference", "campaign", "offer_id", "responded_at", "converted", "revenue"),
}
DATE_FIELDS = {"invoice_date", "birth_date", "last_contacted_at", "effective_date", "opened_at", "closed_at",
               "responded_at"}
NUMBER_FIELDS = {"quantity", "unit_price", "amount", "price", "unit_cost", "margin", "balance", "revenue"}

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer", "customerno", "customernumber", "customercode", "custid", "cust",
                    "clientid", "client", "clientno", "idclient", "numeroclient", "nclient", "noclient",
                    "codeclient", "cliente", "idcliente", "codcliente", "codicecliente", "numerocliente", "kunde",
                    "kundennummer", "kundenid", "kundennr", "kdnr", "memberid", "accountid", "contactid", "buyerid",
                    "shopperid", "userid", "klant", "klantnummer", "klantnr", "klantid", "klantcode",
                    "codigocliente", "numerodocliente", "clienteid", "customerkey"),
    "invoice_id": ("invoice", "invoiceno", "invoicenumber", "invoiceid", "orderid", "order", "orderno",
                   "ordernumber", "receipt", "receiptno", "ticket", "transactionid", "facture", "nfacture",
                   "numerofacture", "commande", "ncommande", "fattura", "numerofattura", "ordine", "factura",
                   "numerofactura", "pedido", "rechnung", "rechnungsnummer", "rechnungsnr", "bestellung",
                   "bestellnummer", "belegnummer", "beleg", "factuur", "factuurnummer", "factuurnr", "ordernummer",
                   "bestelnummer", "fatura", "numerofatura", "notafiscal", "numeropedido", "boleta"),
    "invoice_date": ("invoicedate", "date", "orderdate", "transactiondate", "purchasedate", "saledate", "datetime",
                     "timestamp", "createdat", "datefacture", "datecommande", "dateachat", "datafattura", "data",
                     "dataacquisto", "dataordine", "fecha", "fechafactura", "fechacompra", "fechapedido", "datum",
                     "rechnungsdatum", "bestelldatum", "kaufdatum", "belegdatum", "factuurdatum", "besteldatum",
                     "orderdatum", "datafatura", "datacompra", "datapedido", "datavenda", "fechaventa",
                     "fechadeventa"),
    "product_id": ("stockcode", "productid", "product", "productcode", "sku", "itemid", "item", "itemcode",
                   "itemno", "article", "articleid", "codearticle", "refarticle", "reference", "produit",
                   "codeproduit", "articolo", "codicearticolo", "prodotto", "codiceprodotto", "producto",
                   "codigoproducto", "codigo", "artikel", "artikelnummer", "artikelnr", "produktid",
                   "produktnummer", "ean", "materialnummer", "artikelcode", "productnummer", "produto",
                   "codigoproduto", "codproduto", "referencia"),
    "product_name": ("description", "productname", "itemname", "itemdescription", "designation", "libelle",
                     "nomproduit", "descrizione", "nomeprodotto", "descripcion", "nombreproducto", "bezeichnung",
                     "beschreibung", "artikelbezeichnung", "produktname", "omschrijving", "productnaam",
                     "artikelomschrijving", "descricao", "nomeproduto", "descricaoproduto", "denominacion"),
    "category": ("category", "productcategory", "family", "productfamily", "department", "categorie", "famille",
                 "rayon", "categoria", "famiglia", "reparto", "familia", "kategorie", "warengruppe",
                 "produktgruppe", "productgroep", "grupo"),
    "quantity": ("quantity", "qty", "units", "quantite", "qte", "quantita", "qta", "cantidad", "menge", "anzahl",
                 "stuck", "stueck", "aantal", "hoeveelheid", "quantidade", "qtd", "qtde", "unidades"),
    "unit_price": ("unitprice", "price", "priceeach", "unitcost", "prixunitaire", "prix", "pu", "prezzounitario",
                   "prezzo", "preciounitario", "precio", "einzelpreis", "stuckpreis", "preis", "prijs", "stukprijs",
                   "eenheidsprijs", "preco", "precounitario", "valorunitario", "preciounidad"),
    "amount": ("amount", "total", "totalamount", "linetotal", "lineamount", "netamount", "sales", "revenue",
               "value", "salesamount", "montant", "montantttc", "montantht", "totalttc", "importo", "totale",
               "importe", "betrag", "umsatz", "gesamtbetrag", "summe", "nettobetrag", "bedrag", "totaal", "omzet",
               "totaalbedrag", "valor", "valortotal", "montante", "monto", "montototal", "venta", "ventas",
               "totalventa"),
    "channel": ("channel", "saleschannel", "canal", "canale", "kanal", "source", "store", "shop", "kanaal",
                "verkoopkanaal"),
    "first_name": ("firstname", "givenname", "forename", "prenom", "nome", "nombre", "vorname"),
    "last_name": ("lastname", "surname", "familyname", "nom", "nomdefamille", "cognome", "apellido", "apellidos",
                  "nachname", "familienname"),
    "email": ("email", "emailaddress", "mail", "courriel", "adressemail", "adresseemail", "correo",
              "correoelectronico", "posta", "emailadresse"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "cell", "telefono", "cellulare", "movil",
              "telefon", "handy", "telefonnummer"),
    "birth_date": ("birthdate", "dateofbirth", "dob", "birthday", "datenaissance", "datadinascita", "datanascita",
                   "fechanacimiento", "fechadenacimiento", "geburtsdatum"),
    "region": ("region", "state", "province", "county", "country", "pays", "regione", "provincia", "pais",
               "bundesland", "land"),
    "city": ("city", "town", "ville", "citta", "ciudad", "localidad", "stadt", "ort"),
    "tags": ("tags", "tag", "segment", "segments", "labels", "etiquettes", "etichette", "etiquetas"),
    "email_opt_in": ("emailoptin", "optin", "emailconsent", "consent", "marketingconsent", "newsletter",
                     "subscribed", "acceptsmarketing", "consentement", "optinemail", "consenso", "consentimiento",
                     "einwilligung", "werbeeinwilligung"),
    "do_not_contact": ("donotcontact", "dnc", "nocontact", "donotemail", "optout", "unsubscribed", "blacklist",
                       "blocked", "nepascontacter", "noncontattare", "nocontactar", "sperre", "werbesperre",
                       "kontaktsperre"),
    "last_contacted_at": ("lastcontactedat", "lastcontacted", "lastcontact", "lastcontactdate",
                          "datedernriercontact", "dateduderniercontact", "derniercontact", "ultimocontatto",
                          "ultimocontacto", "letzterkontakt"),
    "effective_date": ("effectivedate", "consentdate", "updatedat", "lastupdated", "modifiedat", "asof", "datemaj",
                       "datedemiseajour", "dataaggiornamento", "fechaactualizacion", "aktualisiertam", "stand"),
    "name": ("name", "productname", "description", "itemname", "designation", "libelle", "nomproduit",
             "descrizione", "nomeprodotto", "descripcion", "nombreproducto", "bezeichnung", "produktname"),
    "family": ("family", "category", "productfamily", "productcategory", "department", "famille", "categorie",
               "famiglia", "categoria", "familia", "kategorie", "warengruppe", "produktgruppe"),
    "price": ("price", "unitprice", "listprice", "saleprice", "prix", "prixunitaire", "prezzo", "precio", "preis",
              "verkaufspreis"),
    "unit_cost": ("unitcost", "cost", "costprice", "purchaseprice", "cout", "coutunitaire", "prixdachat", "costo",
                  "costounitario", "coste", "einkaufspreis", "kosten", "einstandspreis"),
    "margin": ("margin", "marginrate", "marginpct", "marge", "tauxdemarge", "margine", "margen", "spanne"),
    "active": ("active", "isactive", "enabled", "status", "actif", "attivo", "activo", "aktiv"),
    "aliases": ("aliases", "alias", "othercodes", "alternativecodes", "altcodes", "synonyms"),
    "opened_at": ("openedat", "opened", "opendate", "dateopened", "startdate", "since", "dateouverture",
                  "dataapertura", "fechaapertura", "eroffnetam", "eroffnungsdatum"),
    "closed_at": ("closedat", "closed", "closedate", "dateclosed", "enddate", "datefermeture", "datacchiusura",
                  "datachiusura", "fechacierre", "geschlossenam", "schliessungsdatum"),
    "balance": ("balance", "amount", "solde", "saldo", "kontostand", "outstanding", "value"),
    "reference": ("reference", "ref", "campaignreference", "offerreference", "code", "riferimento", "referencia",
                  "referenz"),
    "campaign": ("campaign", "campaignid", "campaignname", "campagne", "campagna", "campana", "kampagne"),
    "offer_id": ("offerid", "offer", "offre", "offerta", "oferta", "angebot"),
    "responded_at": ("respondedat", "responsedate", "responded", "date", "eventdate", "datereponse", "datarisposta",
                     "fecharespuesta", "antwortdatum"),
    "converted": ("converted", "conversion", "purchased", "bought", "converti", "convertito", "convertido",
                  "konvertiert", "gekauft"),
    "revenue": ("revenue", "amount", "value", "sales", "montant", "importo", "importe", "umsatz", "betrag"),
}


def header_key(header: str) -> str:
    """A header folded for matching: accents dropped, lower case, letters and digits only."""
    text = unicodedata.normalize("NFKD", str(header))
    text = "".join(c for c in text if not unicodedata.combining(c)).replace("ß", "ss")
    return re.sub(r"[^a-z0-9]", "", text.lower())


def required_fields(kind: str) -> tuple[str, ...]:
    """The canonical fields a file of ``kind`` must have (amount may be quantity × unit_price)."""
    return {"transactions": ("customer_id", "invoice_date", "amount"), "customers": ("customer_id",),
            "products": ("product_id",), "holdings": ("customer_id", "product_id"),
            "outcomes": ("customer_id",)}[check_kind(kind)]


def check_kind(kind: str) -> str:
    """``kind`` if it is one of KINDS, else MappingError listing them."""
    if kind not in FIELDS:
        raise MappingError(f"Unknown kind of data {kind!r}: choose one of {', '.join(KINDS)}.")
    return kind


def propose_mapping(headers: list[str], kind: str) -> dict[str, str]:
    """Canonical field -> source header, for every field a header is recognised for."""
    keys = {h: header_key(h) for h in headers}
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for field in FIELDS[check_kind(kind)]:  # exact canonical names first
        for h in headers:
            if h not in taken and keys[h] == header_key(field):
                mapping[field], _ = h, taken.add(h)
                break
    for field in FIELDS[kind]:
        if field in mapping:
            continue
        for synonym in _SYNONYMS.get(field, ()):
            hit = next((h for h in headers if h not in taken and keys[h] == synonym), None)
            if hit is not None:
                mapping[field], _ = hit, taken.add(hit)
                break
    return mapping


def missing_fields(mapping: dict[str, str], kind: str) -> list[str]:
    """Required fields the mapping does not cover (``amount`` is covered by quantity and unit_price)."""
    missing = []
    for field in required_fields(kind):
        if field == "amount" and ("amount" in mapping or {"quantity", "unit_price"} <= set(mapping)):
            continue
        if field not in mapping:
            missing.append("amount (or quantity and unit_price)" if field == "amount" else field)
    return missing


def guess_kind(headers: list[str]) -> str | None:
    """The kind whose required fields the headers have and whose fields explain most of the
    headers (at least half), or None."""
    scores = []
    for kind in KINDS:
        mapping = propose_mapping(headers, kind)
        if not missing_fields(mapping, kind) and len(mapping) >= max(1, len(headers)) / 2:
            scores.append((len(mapping), -KINDS.index(kind), kind))
    return max(scores)[2] if scores else None


def check_mapping(mapping: dict, headers: list[str], kind: str) -> dict[str, str]:
    """Validate a user's mapping (canonical -> header); empty entries are dropped.

    Raises:
        MappingError: unknown canonical names, headers not in the file, one header used twice.
    """
    if not isinstance(mapping, dict):
        raise MappingError("A mapping must be a table of canonical field -> column header, e.g. "
                           '{"customer_id": "Kundennummer", "invoice_date": "Datum"}.')
    clean = {str(k).strip(): str(v) for k, v in mapping.items() if v is not None and str(v).strip() != ""}
    unknown = sorted(set(clean) - set(FIELDS[check_kind(kind)]))
    if unknown:
        raise MappingError(f"The mapping names unknown {kind} field(s) {unknown}; "
                           f"the fields are: {', '.join(FIELDS[kind])}.")
    absent = sorted({v for v in clean.values() if v not in headers})
    if absent:
        raise MappingError(f"The mapping names column(s) {absent} that the file does not have; "
                           f"its columns are: {', '.join(map(repr, headers))}.")
    used = [v for v in clean.values()]
    twice = sorted({v for v in used if used.count(v) > 1})
    if twice:
        raise MappingError(f"Column(s) {twice} are mapped to more than one field: map each column once.")
    return clean


def require_fields(mapping: dict[str, str], headers: list[str], kind: str, source: str) -> None:
    """Raise MissingColumns naming the needed fields, the file's columns and how to map them."""
    missing = missing_fields(mapping, kind)
    if not missing:
        return
    guess = guess_kind(headers)
    hint = f" It looks like a file of {guess}: choose that kind instead." if guess and guess != kind else ""
    raise MissingColumns(
        f"{source} cannot be imported as {kind}: no column for {', '.join(missing)}. "
        f"Its columns are: {', '.join(map(repr, headers)) or 'none'}.{hint} Map the columns with a mapping "
        "(canonical field -> your header): on the command line --mapping FILE (JSON or TOML), "
        "on the Import page the mapping editor; --date-format FMT and --sheet NAME set dates and sheet.",
        missing=missing)


def header_signature(headers: list[str], kind: str) -> str:
    """SHA-256 of the kind and the folded headers in order: files with the same headers share it."""
    blob = json.dumps([kind, [header_key(h) for h in headers]], separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
