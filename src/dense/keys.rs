//! The numbering of a dense aggregation's keys and the packing of a row's numbers into one
//! integer (see the module docs of `dense`).

use std::hash::{BuildHasherDefault, Hasher};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::{HashMap, Result, ScalarValue};
use datafusion::physical_plan::metrics::Time;

use super::MAX_KEYS;

/// How a key column's values are numbered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    /// Utf8View: inline values by their view, others by their bytes
    View,
    /// Utf8 / LargeUtf8: by their bytes
    Text,
    /// integers, booleans, dates and timestamps: by their value as i64
    Int,
}

impl Kind {
    pub(super) fn of(t: &DataType) -> Option<Kind> {
        use DataType::*;
        match t {
            Utf8View => Some(Kind::View),
            Utf8 | LargeUtf8 => Some(Kind::Text),
            Null
            | Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | Date32
            | Date64
            | Timestamp(_, _) => Some(Kind::Int),
            _ => None,
        }
    }
}

/// The groups of one partition: each key column's values numbered from 1 (0 = null), and each
/// group's numbers. While the numbers of all key columns fit in 64 bits together (each column
/// takes the bits its count of values needs), a row's group is found by one lookup of that
/// packed integer; beyond, by the numbers themselves.
pub(super) struct Keys {
    columns: Vec<KeyColumn>,
    group_keys: Vec<[u32; MAX_KEYS]>,
    /// bits of each column in the packed key; None once they no longer fit in 64
    bits: Option<Vec<u32>>,
    packed: HashMap<u64, u32, BuildHasherDefault<MulHash>>,
    wide: HashMap<[u32; MAX_KEYS], u32>,
    ids: Vec<Vec<u32>>,
    /// per column, the array its `ids` were numbered from: the grouping sets of one batch share
    /// their key arrays, so each distinct array is numbered once
    numbered: Vec<Option<ArrayRef>>,
    codes: Vec<u64>,
}

struct KeyColumn {
    kind: Kind,
    data_type: DataType,
    /// inline views (Utf8View values of at most 12 bytes) and, per batch, the views of longer ones
    views: HashMap<u128, u32>,
    batch_views: HashMap<u128, u32>,
    bytes: HashMap<Box<[u8]>, u32>,
    ints: HashMap<i64, u32>,
    /// the value of number i + 1
    values: Vec<ScalarValue>,
    /// bytes held by the text values
    held: usize,
}

/// A hash for packed keys: one folded multiplication (the keys are small integers, not
/// attacker-chosen text; a collision costs a comparison, not a wrong result).
#[derive(Default, Clone, Copy)]
struct MulHash(u64);

impl Hasher for MulHash {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(self.0 ^ u64::from(*b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        let m = u128::from(v ^ self.0) * 0x9E37_79B9_7F4A_7C15u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Bits that numbers up to `n` need.
fn bits_for(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}

impl Keys {
    pub(super) fn new(schema: &SchemaRef) -> Result<Keys> {
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                let kind = Kind::of(f.data_type()).ok_or_else(|| {
                    datafusion::error::DataFusionError::Internal(format!(
                        "dense aggregation of a {} key",
                        f.data_type()
                    ))
                })?;
                Ok(KeyColumn::new(kind, f.data_type().clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        let n = columns.len();
        Ok(Keys {
            columns,
            group_keys: Vec::new(),
            bits: Some(vec![0; n]),
            packed: HashMap::default(),
            wide: HashMap::default(),
            ids: vec![Vec::new(); n],
            numbered: vec![None; n],
            codes: Vec::new(),
        })
    }

    pub(super) fn len(&self) -> usize {
        self.group_keys.len()
    }

    /// The most distinct values any key column has numbered.
    pub(super) fn most_values(&self) -> usize {
        self.columns.iter().map(|c| c.values.len()).max().unwrap_or(0)
    }

    pub(super) fn size(&self) -> usize {
        let groups = self.group_keys.capacity() * std::mem::size_of::<[u32; MAX_KEYS]>()
            + self.packed.capacity() * 13
            + self.wide.capacity() * 37;
        let cols: usize = self
            .columns
            .iter()
            .map(|c| c.held + (c.views.len() + c.bytes.len() + c.ints.len()) * 32 + c.values.len() * 48)
            .sum();
        groups + cols
    }

    pub(super) fn clear(&mut self) {
        self.group_keys = Vec::new();
        self.bits = Some(vec![0; self.columns.len()]);
        self.packed = HashMap::default();
        self.wide = HashMap::default();
        for c in &mut self.columns {
            *c = KeyColumn::new(c.kind, c.data_type.clone());
        }
        // the ids of the last arrays were numbered in the numbering just dropped
        self.numbered = vec![None; self.columns.len()];
    }

    /// The packed key of `key` under `bits`.
    fn pack(key: &[u32; MAX_KEYS], bits: &[u32]) -> u64 {
        let mut code = 0u64;
        let mut shift = 0;
        for (id, b) in key.iter().zip(bits) {
            code |= u64::from(*id) << shift;
            shift += b;
        }
        code
    }

    /// Widens the packed keys when a column has outgrown its bits (each column then gets one
    /// bit more than it needs, so that growth re-packs seldom), or gives them up for the wide
    /// keys when they no longer fit in 64 bits.
    fn fit(&mut self) {
        let Some(bits) = &self.bits else { return };
        let need: Vec<u32> = self.columns.iter().map(|c| bits_for(c.values.len())).collect();
        if need.iter().zip(bits).all(|(n, b)| n <= b) {
            return;
        }
        let grown: Vec<u32> = need.iter().zip(bits).map(|(n, b)| if n > b { n + 1 } else { *b }).collect();
        let fits = grown.iter().sum::<u32>() <= 64;
        let tight = need.iter().sum::<u32>() <= 64;
        let bits = if fits {
            Some(grown)
        } else if tight {
            Some(need)
        } else {
            None
        };
        self.packed = HashMap::default();
        self.wide = HashMap::default();
        match &bits {
            Some(bits) => {
                self.packed.reserve(self.group_keys.len());
                for (g, key) in self.group_keys.iter().enumerate() {
                    self.packed.insert(Keys::pack(key, bits), g as u32);
                }
            }
            None => {
                for (g, key) in self.group_keys.iter().enumerate() {
                    self.wide.insert(*key, g as u32);
                }
            }
        }
        self.bits = bits;
    }

    /// The group number of every row of `set` (one array per key column) into `indices`.
    pub(super) fn intern(&mut self, set: &[ArrayRef], indices: &mut Vec<usize>, numbering: &Time) -> Result<()> {
        let rows = set.first().map_or(0, |a| a.len());
        let timer = numbering.timer();
        for (((column, array), ids), numbered) in
            self.columns.iter_mut().zip(set).zip(&mut self.ids).zip(&mut self.numbered)
        {
            if numbered.as_ref().is_some_and(|n| std::sync::Arc::ptr_eq(n, array)) {
                continue; // numbered for an earlier grouping set of this batch: the same ids
            }
            column.number(array, ids)?;
            *numbered = Some(std::sync::Arc::clone(array));
        }
        timer.done();
        self.fit();
        let k = self.columns.len();
        indices.clear();
        indices.reserve(rows);
        let key_of = |ids: &[Vec<u32>], r: usize| {
            let mut key = [0u32; MAX_KEYS];
            for (c, slot) in key.iter_mut().take(k).enumerate() {
                *slot = ids[c][r];
            }
            key
        };
        let Keys { group_keys, bits, packed, wide, ids, codes, .. } = self;
        match bits {
            Some(bits) => {
                codes.clear();
                codes.resize(rows, 0);
                let mut shift = 0;
                for (column, b) in ids.iter().zip(bits.iter()) {
                    for (code, id) in codes.iter_mut().zip(column) {
                        *code |= u64::from(*id) << shift;
                    }
                    shift += b;
                }
                for (r, code) in codes.iter().enumerate() {
                    let next = group_keys.len() as u32;
                    let g = *packed.entry(*code).or_insert_with(|| {
                        group_keys.push(key_of(ids, r));
                        next
                    });
                    indices.push(g as usize);
                }
            }
            None => {
                for r in 0..rows {
                    let key = key_of(ids, r);
                    let next = group_keys.len() as u32;
                    let g = *wide.entry(key).or_insert_with(|| {
                        group_keys.push(key);
                        next
                    });
                    indices.push(g as usize);
                }
            }
        }
        Ok(())
    }

    /// The key columns of every group, in group order, with the types of `schema`'s first fields.
    pub(super) fn columns(&self, schema: &SchemaRef) -> Result<Vec<ArrayRef>> {
        self.columns
            .iter()
            .enumerate()
            .map(|(c, column)| {
                let null = ScalarValue::try_from(&column.data_type)?;
                let array = ScalarValue::iter_to_array(self.group_keys.iter().map(|key| match key[c] {
                    0 => null.clone(),
                    id => column.values[id as usize - 1].clone(),
                }))?;
                let want = schema.field(c).data_type();
                if array.data_type() == want { Ok(array) } else { Ok(cast(&array, want)?) }
            })
            .collect()
    }
}

impl KeyColumn {
    fn new(kind: Kind, data_type: DataType) -> KeyColumn {
        KeyColumn {
            kind,
            data_type,
            views: HashMap::default(),
            batch_views: HashMap::default(),
            bytes: HashMap::default(),
            ints: HashMap::default(),
            values: Vec::new(),
            held: 0,
        }
    }

    /// The number of the text `text` (row `i` of `array`), numbering it when new.
    fn text_id(&mut self, text: &[u8], array: &ArrayRef, i: usize) -> Result<u32> {
        if let Some(id) = self.bytes.get(text) {
            return Ok(*id);
        }
        self.values.push(ScalarValue::try_from_array(array, i)?);
        let id = self.values.len() as u32;
        self.bytes.insert(text.into(), id);
        self.held += text.len() * 2;
        Ok(id)
    }

    /// The number of each value of `array` (0 for null) into `ids`, numbering new values.
    fn number(&mut self, array: &ArrayRef, ids: &mut Vec<u32>) -> Result<()> {
        ids.clear();
        ids.resize(array.len(), 0);
        if array.null_count() == array.len() {
            return Ok(());
        }
        let nulls = array.logical_nulls();
        let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
        match self.kind {
            Kind::View => {
                let a = array.as_string_view();
                self.batch_views.clear();
                for (i, view) in a.views().iter().enumerate() {
                    if !valid(i) {
                        continue;
                    }
                    let long = (*view as u32) > 12;
                    let map = if long { &mut self.batch_views } else { &mut self.views };
                    if let Some(id) = map.get(view) {
                        ids[i] = *id;
                        continue;
                    }
                    let id = if long {
                        self.text_id(a.value(i).as_bytes(), array, i)?
                    } else {
                        self.values.push(ScalarValue::try_from_array(array, i)?);
                        self.values.len() as u32
                    };
                    let map = if long { &mut self.batch_views } else { &mut self.views };
                    map.insert(*view, id);
                    ids[i] = id;
                }
            }
            Kind::Text => {
                let texts: Box<dyn Iterator<Item = Option<&[u8]>>> = match array.data_type() {
                    DataType::LargeUtf8 => Box::new(array.as_string::<i64>().iter().map(|s| s.map(str::as_bytes))),
                    _ => Box::new(array.as_string::<i32>().iter().map(|s| s.map(str::as_bytes))),
                };
                for (i, text) in texts.enumerate() {
                    let Some(text) = text else { continue };
                    ids[i] = self.text_id(text, array, i)?;
                }
            }
            Kind::Int => {
                let ints = cast(array, &DataType::Int64)?;
                let ints = ints.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                let mut last: Option<(i64, u32)> = None;
                for (i, v) in ints.values().iter().enumerate() {
                    if !valid(i) {
                        continue;
                    }
                    if let Some((lv, id)) = last
                        && lv == *v
                    {
                        ids[i] = id;
                        continue;
                    }
                    let id = match self.ints.get(v) {
                        Some(id) => *id,
                        None => {
                            self.values.push(ScalarValue::try_from_array(array, i)?);
                            let id = self.values.len() as u32;
                            self.ints.insert(*v, id);
                            id
                        }
                    };
                    last = Some((*v, id));
                    ids[i] = id;
                }
            }
        }
        Ok(())
    }
}
